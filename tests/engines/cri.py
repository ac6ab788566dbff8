"""A minimal CRI client (what the kubelet does for one pod), for
tests/engines/cri.sh: RunPodSandbox with the runtime handler, then
CreateContainer/StartContainer, ExecSync, status, logs, stop and removal.

    python3 cri.py SOCKET HANDLER IMAGE LOGDIR [pod|pidpod]

Needs grpcio and the Python modules generated from k8s.io/cri-api's
pkg/apis/runtime/v1/api.proto (api_pb2, api_pb2_grpc) on sys.path. Prints
one line per step: "PASS step" or "FAIL step: message"; exit 1 on a FAIL.
"""

import sys
import time

import grpc

import api_pb2 as pb
import api_pb2_grpc as rpc

sock, handler, image, logdir = sys.argv[1:5]
mode = sys.argv[5] if len(sys.argv) > 5 else "pod"
ch = grpc.insecure_channel("unix://" + sock)
rt = rpc.RuntimeServiceStub(ch)
failed = False


def step(name, f):
    global failed
    try:
        r = f()
        print("PASS cri " + name, flush=True)
        return r
    except grpc.RpcError as e:
        failed = True
        print("FAIL cri %s: %s" % (name, e.details()), flush=True)
    except Exception as e:  # noqa: BLE001 - report anything
        failed = True
        print("FAIL cri %s: %s" % (name, e), flush=True)
    return None


v = step("Version", lambda: rt.Version(pb.VersionRequest()))
if v:
    print("     runtime %s %s, CRI %s" % (v.runtime_name, v.runtime_version, v.runtime_api_version))

# pid: CONTAINER (1, Kubernetes' default) or POD (0, shareProcessNamespace).
pid_mode = 0 if mode == "pidpod" else 1
ns = pb.NamespaceOption(network=0, pid=pid_mode, ipc=0)  # network POD: CNI (loopback)
sandbox = pb.PodSandboxConfig(
    metadata=pb.PodSandboxMetadata(name="nsinit-" + mode, uid="uid-" + mode, namespace="default"),
    hostname="nsinit-" + mode,
    log_directory=logdir,
    linux=pb.LinuxPodSandboxConfig(
        cgroup_parent="/nsinit-cri-" + mode,
        security_context=pb.LinuxSandboxSecurityContext(namespace_options=ns),
    ),
)
r = step(
    "RunPodSandbox (handler %s, pid %s)" % (handler, "POD" if pid_mode == 0 else "CONTAINER"),
    lambda: rt.RunPodSandbox(pb.RunPodSandboxRequest(config=sandbox, runtime_handler=handler)),
)
if r is None:
    sys.exit(1)
sid = r.pod_sandbox_id
st = step("PodSandboxStatus", lambda: rt.PodSandboxStatus(pb.PodSandboxStatusRequest(pod_sandbox_id=sid)))
if st:
    print("     sandbox state %s, ip '%s'" % (pb.PodSandboxState.Name(st.status.state), st.status.network.ip))

cfg = pb.ContainerConfig(
    metadata=pb.ContainerMetadata(name="c1"),
    image=pb.ImageSpec(image=image),
    command=["sh", "-c", "echo hello-from-cri; hostname; exec sleep 7020"],
    log_path="c1.log",
    linux=pb.LinuxContainerConfig(
        resources=pb.LinuxContainerResources(memory_limit_in_bytes=64 << 20, cpu_period=100000, cpu_quota=50000),
        security_context=pb.LinuxContainerSecurityContext(namespace_options=ns),
    ),
)
c = step(
    "CreateContainer",
    lambda: rt.CreateContainer(pb.CreateContainerRequest(pod_sandbox_id=sid, config=cfg, sandbox_config=sandbox)),
)
if c is not None:
    cid = c.container_id
    if step("StartContainer", lambda: rt.StartContainer(pb.StartContainerRequest(container_id=cid))) is not None:
        e = step(
            "ExecSync",
            lambda: rt.ExecSync(
                pb.ExecSyncRequest(
                    container_id=cid,
                    cmd=["sh", "-c", "hostname; ps -o pid,args; cat /sys/fs/cgroup/memory/memory.limit_in_bytes"],
                    timeout=10,
                )
            ),
        )
        if e:
            print("     exec exit %d: %s" % (e.exit_code, e.stdout.decode().replace("\n", " | ")))
        s = step("ContainerStatus", lambda: rt.ContainerStatus(pb.ContainerStatusRequest(container_id=cid)))
        if s:
            print("     container state %s, pid-ns mode %s" % (pb.ContainerState.Name(s.status.state), mode))
        step("StopContainer (TERM, then KILL after 2 s)", lambda: rt.StopContainer(pb.StopContainerRequest(container_id=cid, timeout=2)))
        s = step("ContainerStatus after stop", lambda: rt.ContainerStatus(pb.ContainerStatusRequest(container_id=cid)))
        if s:
            print("     container state %s, exit code %d" % (pb.ContainerState.Name(s.status.state), s.status.exit_code))
    time.sleep(0.2)
    try:
        with open(logdir + "/c1.log") as f:
            print("     c1.log: " + f.read().replace("\n", " | "))
    except OSError as e:
        print("     c1.log: %s" % e)
    step("RemoveContainer", lambda: rt.RemoveContainer(pb.RemoveContainerRequest(container_id=cid)))
step("StopPodSandbox", lambda: rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=sid)))
step("RemovePodSandbox", lambda: rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=sid)))
sys.exit(1 if failed else 0)
