# containerd scenarios, sourced by run.sh.
containerd_scenarios() {
	result SKIP containerd "not yet scripted"
}
