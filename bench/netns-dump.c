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
 *   netns-dump counters-paired <pid>...
 *                                    the same preads on two threads, each taking the next
 *                                    namespace from one shared index (as the exporter's counter
 *                                    reader and event loop do): the floor on two CPUs.
 *   netns-dump netlink-paired <ns file>...
 *                                    the same dumps on two threads, each taking the next
 *                                    namespace from one shared index: what dumping on a second
 *                                    CPU would give (two walks of the shared hash at once).
 *   netns-dump whole <n> <ns file>×n <pid>...
 *                                    the dumps of the n namespace files and the counter files of
 *                                    the pids (those with a process), both kept open, then, timed, the dumps on one
 *                                    thread and the counter preads on another, started together
 *                                    (as the exporter's dump thread and counter reader run):
 *                                    the floor of the whole collector on two CPUs. "ms" is until
 *                                    both are done; "dumps_ms" and "counters_ms" each thread's.
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
#include <pthread.h>
#include <stdatomic.h>
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
  /* One per thread: the paired dumps run this on two at once. */
  static __thread char buf[65536] __attribute__((aligned(8)));
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

/* Opens a sock_diag socket inside each namespace file, into sockets[] (-1 where the file is gone); returns how many are gone, or -1. */
static int open_sockets(int n, char **files, int *sockets) {
  int skipped = 0;
  int home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (home < 0) return perror("open home"), -1;
  for (int i = 0; i < n; i++) {
    int target = open(files[i], O_RDONLY | O_CLOEXEC);
    /* Another job's process may exit between the listing and now: left out, and counted. */
    if (target < 0 && (errno == ENOENT || errno == ESRCH)) {
      sockets[i] = -1;
      skipped++;
      continue;
    }
    if (target < 0) return fprintf(stderr, "%s: %s\n", files[i], strerror(errno)), -1;
    if (setns(target, CLONE_NEWNET) < 0) return perror("setns"), -1;
    sockets[i] = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (sockets[i] < 0) return perror("socket"), -1;
    if (setns(home, CLONE_NEWNET) < 0) return perror("setns home"), -1;
    close(target);
  }
  close(home);
  return skipped;
}

static int netlink_mode(int n, char **files) {
  static int sockets[MAX_NS];
  double t0 = now_ms();
  int skipped = open_sockets(n, files, sockets);
  if (skipped < 0) return 1;
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

static const char *counter_files[] = {"sockstat", "sockstat6", "snmp", "netstat"};
static int counter_fds[MAX_NS][4];

/* Opens every pid's counter files; returns how many pids have none (exited, or no such files), or -1. */
static int open_counters(int n, char **pids) {
  char path[64];
  int skipped = 0;
  for (int i = 0; i < n; i++) {
    for (int f = 0; f < 4; f++) {
      snprintf(path, sizeof path, "/proc/%s/net/%s", pids[i], counter_files[f]);
      counter_fds[i][f] = open(path, O_RDONLY | O_CLOEXEC);
      /* No IPv6 (no sockstat6), or the process exited since the listing. */
      if (counter_fds[i][f] < 0 && errno != ENOENT && errno != ESRCH) return fprintf(stderr, "%s: %s\n", path, strerror(errno)), -1;
    }
    if (counter_fds[i][0] < 0) skipped++;
  }
  return skipped;
}

/* One pread from offset 0 of each of namespace i's files: the bytes read, or -1. */
static long read_counters(int i) {
  char buf[1 << 14];
  long bytes = 0;
  for (int f = 0; f < 4; f++) {
    if (counter_fds[i][f] < 0) continue;
    ssize_t got = pread(counter_fds[i][f], buf, sizeof buf, 0);
    if (got < 0) return perror("pread"), -1;
    bytes += got;
  }
  return bytes;
}

static int counters_mode(int n, char **pids) {
  double t0 = now_ms();
  int skipped = open_counters(n, pids);
  if (skipped < 0) return 1;
  double t1 = now_ms();
  long bytes = 0;
  for (int i = 0; i < n; i++) {
    long got = read_counters(i);
    if (got < 0) return 1;
    bytes += got;
  }
  double t2 = now_ms();
  printf("{\"namespaces\":%d,\"sockets\":%ld,\"open_ms\":%.3f,\"ms\":%.3f}\n", n - skipped, bytes, t1 - t0, t2 - t1);
  return 0;
}

/* The work of one thread of a paired run: claims namespaces from a shared index (counters), or dumps every socket (dumps). */
struct share {
  int n;
  atomic_int next;
  atomic_long bytes;
  atomic_int failed;
};
struct lane {
  struct share *share;
  int dumps; /* 1: dump every socket in `sockets`; 2: claim sockets to dump from the shared index; 0: claim counter files */
  int *sockets;
  long total;
  double ms;
};

static void *run_lane(void *arg) {
  struct lane *lane = arg;
  struct share *share = lane->share;
  double t0 = now_ms();
  if (lane->dumps) {
    /* 1: every socket, in order; 2: the next one no lane has claimed yet. */
    int claims = lane->dumps == 2;
    for (int i = claims ? atomic_fetch_add(&share->next, 1) : 0; i < share->n; i = claims ? atomic_fetch_add(&share->next, 1) : i + 1) {
      if (lane->sockets[i] < 0) continue;
      long count = dump(lane->sockets[i]);
      if (count < 0) {
        atomic_store(&share->failed, 1);
        break;
      }
      lane->total += count;
    }
  } else {
    for (int i = atomic_fetch_add(&share->next, 1); i < share->n; i = atomic_fetch_add(&share->next, 1)) {
      long got = read_counters(i);
      if (got < 0) {
        atomic_store(&share->failed, 1);
        break;
      }
      atomic_fetch_add(&share->bytes, got);
    }
  }
  lane->ms = now_ms() - t0;
  return NULL;
}

/* Runs two lanes at once, from one start; false if a thread could not start or a lane failed. */
static int run_pair(struct lane *a, struct lane *b, double *ms) {
  pthread_t ta, tb;
  double t0 = now_ms();
  if (pthread_create(&ta, NULL, run_lane, a) != 0) return fprintf(stderr, "pthread_create failed\n"), 0;
  if (pthread_create(&tb, NULL, run_lane, b) != 0) return fprintf(stderr, "pthread_create failed\n"), 0;
  pthread_join(ta, NULL);
  pthread_join(tb, NULL);
  *ms = now_ms() - t0;
  return !atomic_load(&a->share->failed);
}

static int counters_paired_mode(int n, char **pids) {
  double t0 = now_ms();
  int skipped = open_counters(n, pids);
  if (skipped < 0) return 1;
  double t1 = now_ms();
  struct share share = {.n = n};
  struct lane one = {.share = &share}, two = {.share = &share};
  double ms;
  if (!run_pair(&one, &two, &ms)) return 1;
  printf("{\"namespaces\":%d,\"sockets\":%ld,\"open_ms\":%.3f,\"ms\":%.3f}\n", n - skipped, atomic_load(&share.bytes), t1 - t0, ms);
  return 0;
}

static int netlink_paired_mode(int n, char **files) {
  static int sockets[MAX_NS];
  double t0 = now_ms();
  int skipped = open_sockets(n, files, sockets);
  if (skipped < 0) return 1;
  double t1 = now_ms();
  struct share share = {.n = n};
  struct lane one = {.share = &share, .dumps = 2, .sockets = sockets}, two = {.share = &share, .dumps = 2, .sockets = sockets};
  double ms;
  if (!run_pair(&one, &two, &ms)) return 1;
  printf("{\"namespaces\":%d,\"sockets\":%ld,\"open_ms\":%.3f,\"ms\":%.3f}\n", n - skipped, one.total + two.total, t1 - t0, ms);
  return 0;
}

static int whole_mode(int n, char **files, int pid_count, char **pids) {
  static int sockets[MAX_NS];
  double t0 = now_ms();
  int skipped = open_sockets(n, files, sockets);
  if (skipped < 0) return 1;
  if (open_counters(pid_count, pids) < 0) return 1;
  double t1 = now_ms();
  struct share dumps = {.n = n}, counters = {.n = pid_count};
  struct lane dumper = {.share = &dumps, .dumps = 1, .sockets = sockets}, reader = {.share = &counters};
  double ms;
  if (!run_pair(&dumper, &reader, &ms) || atomic_load(&counters.failed)) return 1;
  printf("{\"namespaces\":%d,\"sockets\":%ld,\"open_ms\":%.3f,\"ms\":%.3f,\"dumps_ms\":%.3f,\"counters_ms\":%.3f}\n", n - skipped, dumper.total, t1 - t0, ms, dumper.ms, reader.ms);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2 || argc - 2 > 2 * MAX_NS) return fprintf(stderr, "usage: netns-dump netlink <ns file>... | procfs <pid>... | counters <pid>... | counters-paired <pid>... | netlink-paired <ns file>... | whole <n> <ns file>×n <pid>...\n"), 2;
  if (strcmp(argv[1], "whole") == 0) {
    char *end = NULL;
    long n = argc > 2 ? strtol(argv[2], &end, 10) : -1;
    if (end == NULL || end == argv[2] || *end != '\0') n = -1;
    if (n < 0 || n > MAX_NS || argc < 3 + n || argc - 3 - n > MAX_NS) return fprintf(stderr, "whole: expected <n>, then n namespace files, then the pids\n"), 2;
    return whole_mode((int)n, argv + 3, argc - 3 - (int)n, argv + 3 + n);
  }
  if (argc - 2 > MAX_NS) return fprintf(stderr, "at most %d namespaces\n", MAX_NS), 2;
  if (strcmp(argv[1], "counters") == 0) return counters_mode(argc - 2, argv + 2);
  if (strcmp(argv[1], "counters-paired") == 0) return counters_paired_mode(argc - 2, argv + 2);
  if (strcmp(argv[1], "netlink") == 0) return netlink_mode(argc - 2, argv + 2);
  if (strcmp(argv[1], "netlink-paired") == 0) return netlink_paired_mode(argc - 2, argv + 2);
  if (strcmp(argv[1], "procfs") == 0) return procfs_mode(argc - 2, argv + 2);
  return fprintf(stderr, "unknown mode %s\n", argv[1]), 2;
}
