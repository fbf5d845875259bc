/*
 * The floors of the namespace collector's table, for bench/netns-bench.mjs. Compiled at bench time.
 *
 *   netns-dump netlink <ns file>...  setns into each namespace file (a /proc/<pid>/ns/net link
 *                                    or a bind mount), open a sock_diag socket there, come back;
 *                                    then, timed, one TCPDIAG_GETSOCK dump on each socket (the
 *                                    exporter's request: every state but BOUND_INACTIVE, no
 *                                    extensions), counting records and nothing else. The exporter
 *                                    keeps its sockets across scrapes, so opening them is timed
 *                                    apart.
 *   netns-dump procfs <pid>...       read /proc/<pid>/net/tcp and tcp6 to the end for each pid,
 *                                    counting lines (cAdvisor's way).
 *   netns-dump counters <pid>...     open /proc/<pid>/net/{sockstat,sockstat6,snmp,netstat} for
 *                                    each pid (the exporter keeps them open), then, timed, one
 *                                    pread from offset 0 of each, one after the other on one
 *                                    thread, counting bytes: the kernel's formatting, serially.
 *
 * Prints one JSON line: {"namespaces":N,"sockets":S,"open_ms":O,"ms":T} (for counters, S is the
 * bytes read); exits 1 on any error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define STATES 0x1ffe
#define MAX_NS 4096

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static long dump(int fd) {
  static char buf[65536] __attribute__((aligned(8)));
  struct {
    struct nlmsghdr nlh;
    struct inet_diag_req req;
  } msg;
  memset(&msg, 0, sizeof msg);
  msg.nlh.nlmsg_len = sizeof msg;
  msg.nlh.nlmsg_type = TCPDIAG_GETSOCK;
  msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  msg.nlh.nlmsg_seq = 1;
  msg.req.idiag_family = AF_INET;
  msg.req.idiag_states = STATES;
  if (send(fd, &msg, sizeof msg, 0) < 0) return perror("send"), -1;
  long count = 0;
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return perror("recv"), -1;
    }
    if (n == 0) return count;
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)n); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_type == NLMSG_DONE) return count;
      if (h->nlmsg_type == NLMSG_ERROR) {
        struct nlmsgerr *e = NLMSG_DATA(h);
        if (e->error == 0) return count;
        fprintf(stderr, "netlink error %d\n", -e->error);
        return -1;
      }
      if (h->nlmsg_type == TCPDIAG_GETSOCK) count++;
    }
  }
}

static int netlink_mode(int n, char **files) {
  static int sockets[MAX_NS];
  int skipped = 0;
  int home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (home < 0) return perror("open home"), 1;
  double t0 = now_ms();
  for (int i = 0; i < n; i++) {
    int target = open(files[i], O_RDONLY | O_CLOEXEC);
    /* Another job's process may exit between the listing and now: left out, and counted. */
    if (target < 0 && (errno == ENOENT || errno == ESRCH)) {
      sockets[i] = -1;
      skipped++;
      continue;
    }
    if (target < 0) return fprintf(stderr, "%s: %s\n", files[i], strerror(errno)), 1;
    if (setns(target, CLONE_NEWNET) < 0) return perror("setns"), 1;
    sockets[i] = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (sockets[i] < 0) return perror("socket"), 1;
    if (setns(home, CLONE_NEWNET) < 0) return perror("setns home"), 1;
    close(target);
  }
  double t1 = now_ms();
  long total = 0;
  for (int i = 0; i < n; i++) {
    if (sockets[i] < 0) continue;
    long count = dump(sockets[i]);
    if (count < 0) return 1;
    total += count;
  }
  double t2 = now_ms();
  printf("{\"namespaces\":%d,\"sockets\":%ld,\"open_ms\":%.3f,\"ms\":%.3f}\n", n - skipped, total, t1 - t0, t2 - t1);
  return 0;
}

static int procfs_mode(int n, char **pids) {
  static char buf[1 << 16];
  char path[64];
  int skipped = 0;
  long lines = 0;
  double t0 = now_ms();
  for (int i = 0; i < n; i++) {
    for (int v6 = 0; v6 < 2; v6++) {
      snprintf(path, sizeof path, "/proc/%s/net/%s", pids[i], v6 ? "tcp6" : "tcp");
      int fd = open(path, O_RDONLY | O_CLOEXEC);
      if (fd < 0) {
        if (errno == ENOENT || errno == ESRCH) {
          /* No IPv6, or the process exited since the listing. */
          if (!v6) skipped++;
          if (!v6) break;
          continue;
        }
        return fprintf(stderr, "%s: %s\n", path, strerror(errno)), 1;
      }
      ssize_t got;
      while ((got = read(fd, buf, sizeof buf)) > 0)
        for (ssize_t j = 0; j < got; j++) lines += buf[j] == '\n';
      if (got < 0) return perror("read"), 1;
      close(fd);
      lines--; /* the header */
    }
  }
  printf("{\"namespaces\":%d,\"sockets\":%ld,\"open_ms\":0,\"ms\":%.3f}\n", n - skipped, lines, now_ms() - t0);
  return 0;
}

static int counters_mode(int n, char **pids) {
  static const char *files[] = {"sockstat", "sockstat6", "snmp", "netstat"};
  static int fds[MAX_NS][4];
  static char buf[1 << 16];
  char path[64];
  int skipped = 0;
  double t0 = now_ms();
  for (int i = 0; i < n; i++) {
    for (int f = 0; f < 4; f++) {
      snprintf(path, sizeof path, "/proc/%s/net/%s", pids[i], files[f]);
      fds[i][f] = open(path, O_RDONLY | O_CLOEXEC);
      /* No IPv6 (no sockstat6), or the process exited since the listing. */
      if (fds[i][f] < 0 && errno != ENOENT && errno != ESRCH) return fprintf(stderr, "%s: %s\n", path, strerror(errno)), 1;
    }
    if (fds[i][0] < 0) skipped++;
  }
  double t1 = now_ms();
  long bytes = 0;
  for (int i = 0; i < n; i++) {
    for (int f = 0; f < 4; f++) {
      if (fds[i][f] < 0) continue;
      ssize_t got = pread(fds[i][f], buf, sizeof buf, 0);
      if (got < 0) return perror("pread"), 1;
      bytes += got;
    }
  }
  double t2 = now_ms();
  printf("{\"namespaces\":%d,\"sockets\":%ld,\"open_ms\":%.3f,\"ms\":%.3f}\n", n - skipped, bytes, t1 - t0, t2 - t1);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2 || argc - 2 > MAX_NS) return fprintf(stderr, "usage: netns-dump netlink <ns file>... | procfs <pid>... | counters <pid>...\n"), 2;
  if (strcmp(argv[1], "counters") == 0) return counters_mode(argc - 2, argv + 2);
  if (strcmp(argv[1], "netlink") == 0) return netlink_mode(argc - 2, argv + 2);
  if (strcmp(argv[1], "procfs") == 0) return procfs_mode(argc - 2, argv + 2);
  return fprintf(stderr, "unknown mode %s\n", argv[1]), 2;
}
