/* Lone-start timing for `NSINIT_VM_MODE=bench` (tests/vm/run.sh): runs each
 * command RUNS times, alternating, each run after IDLE_MS of idle, and
 * prints the median start-to-exit time of each and the ratio to the first.
 *   lone RUNS IDLE_MS 'cmd one' 'cmd two' ...   (words split at spaces, execvp'd)
 * Static (gcc -static): the guest has no compiler and no python. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: lone RUNS IDLE_MS CMD...\n");
		return 2;
	}
	int runs = atoi(argv[1]), idle = atoi(argv[2]), n = argc - 3;
	double *t = calloc((size_t)runs * n, sizeof *t);
	if (!t || runs < 1)
		return 2;
	for (int r = 0; r < runs; r++) {
		for (int c = 0; c < n; c++) {
			usleep(idle * 1000);
			double t0 = now_ms();
			pid_t pid = fork();
			if (pid == 0) {
				char *words[64], *line = strdup(argv[3 + c]);
				int w = 0;
				for (char *p = strtok(line, " "); p && w < 63; p = strtok(0, " "))
					words[w++] = p;
				words[w] = 0;
				execvp(words[0], words);
				_exit(127);
			}
			int st;
			waitpid(pid, &st, 0);
			t[c * runs + r] = now_ms() - t0;
			if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
				fprintf(stderr, "lone: `%s` failed (status %d)\n", argv[3 + c], st);
				return 1;
			}
		}
	}
	double base = 0;
	for (int c = 0; c < n; c++) {
		qsort(t + c * runs, runs, sizeof *t, cmp);
		double med = t[c * runs + runs / 2];
		if (c == 0)
			base = med;
		printf("LONE %-45s median %8.2f ms  ratio to the first %5.2f\n", argv[3 + c], med,
		       med / base);
	}
	return 0;
}
