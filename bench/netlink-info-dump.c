/*
 * The floor of the tcp_info collector: dump ESTABLISHED sockets over NETLINK_SOCK_DIAG with
 * INET_DIAG_INFO (struct tcp_info) requested, as that collector asks for them, optionally
 * narrowed by an inet_diag bytecode port filter, and only count the records and the bytes.
 * Prints "<sockets> <bytes>"; with --time also the dump's wall time and its CPU time (user +
 * system, in µs: the kernel builds the dump in our recv() calls, so on a shared machine the CPU
 * time is the kernel's work without the time spent waiting for a core).
 *
 *   netlink-info-dump                     one TCPDIAG_GETSOCK dump (both families, one walk)
 *   netlink-info-dump --per-family        SOCK_DIAG_BY_FAMILY for AF_INET, then AF_INET6
 *   netlink-info-dump --no-info           the same dump without INET_DIAG_INFO (bytes per record)
 *   netlink-info-dump --all-states        every state but BOUND_INACTIVE, as the counting dump
 *   netlink-info-dump --sport=P --dport=Q local port P or remote port Q (repeatable, up to 256)
 *
 * The filter is laid out as src/netlink/bytecode.ts lays it out: for each port an S_EQ/D_EQ op,
 * then a JMP to the end; a failed test skips its JMP onto the next test, the last one's failure
 * lands 4 bytes past the end (no match). Every loop is bounded by the kernel's NLMSG_DONE.
 */
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ALL_STATES 0x1ffe
#define ESTABLISHED_ONLY (1 << 1)
#define MAX_PORTS 256

static unsigned char bytecode[MAX_PORTS * 12];
static int bytecode_len;
static long total_bytes;

static void op(int at, unsigned char code, unsigned char yes, unsigned short no) {
  struct inet_diag_bc_op o = {code, yes, no};
  memcpy(bytecode + at, &o, sizeof o);
}

/* ports[i] > 0: local (source) port; < 0: remote (destination) port. */
static void build_filter(const int *ports, int n) {
  int at = 0;
  int total = n * 12 - 4;
  for (int i = 0; i < n; i++) {
    op(at, ports[i] > 0 ? INET_DIAG_BC_S_EQ : INET_DIAG_BC_D_EQ, 8, 12);
    op(at + 4, INET_DIAG_BC_NOP, 0, (unsigned short)abs(ports[i]));
    at += 8;
    if (i < n - 1) {
      op(at, INET_DIAG_BC_JMP, 4, (unsigned short)(total - at));
      at += 4;
    }
  }
  bytecode_len = total;
}

static long receive(int fd, int tolerate_error) {
  static char buf[65536] __attribute__((aligned(8)));
  long count = 0;
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      perror("recv");
      return -1;
    }
    if (n == 0) return count;
    total_bytes += n;
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)n); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_type == NLMSG_DONE) return count;
      if (h->nlmsg_type == NLMSG_ERROR) {
        struct nlmsgerr *e = NLMSG_DATA(h);
        if (e->error == 0 || tolerate_error) return count;
        fprintf(stderr, "netlink error %d\n", -e->error);
        return -1;
      }
      if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY || h->nlmsg_type == TCPDIAG_GETSOCK) count++;
    }
  }
}

/* Sends header + request struct + the bytecode attribute (if any) and counts the reply. */
static long dump(const void *req, size_t req_len, unsigned short type, int tolerate_error) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0) {
    perror("socket");
    return -1;
  }
  static unsigned char msg[16 + 64 + 4 + sizeof bytecode] __attribute__((aligned(8)));
  struct nlmsghdr nlh = {0};
  size_t len = NLMSG_HDRLEN + req_len;
  memcpy(msg + NLMSG_HDRLEN, req, req_len);
  if (bytecode_len > 0) {
    struct nlattr attr = {(unsigned short)(NLA_HDRLEN + bytecode_len), INET_DIAG_REQ_BYTECODE};
    memcpy(msg + len, &attr, sizeof attr);
    memcpy(msg + len + NLA_HDRLEN, bytecode, (size_t)bytecode_len);
    len += NLA_HDRLEN + (size_t)bytecode_len;
  }
  nlh.nlmsg_len = (unsigned)len;
  nlh.nlmsg_type = type;
  nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  nlh.nlmsg_seq = 1;
  memcpy(msg, &nlh, sizeof nlh);
  long count = send(fd, msg, len, 0) < 0 ? (perror("send"), -1) : receive(fd, tolerate_error);
  close(fd);
  return count;
}

int main(int argc, char **argv) {
  int per_family = 0, info = 1, timed = 0, nports = 0;
  unsigned states = ESTABLISHED_ONLY;
  int ports[MAX_PORTS];
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--per-family") == 0) per_family = 1;
    else if (strcmp(argv[i], "--no-info") == 0) info = 0;
    else if (strcmp(argv[i], "--all-states") == 0) states = ALL_STATES;
    else if (strcmp(argv[i], "--time") == 0) timed = 1;
    else if ((strncmp(argv[i], "--sport=", 8) == 0 || strncmp(argv[i], "--dport=", 8) == 0) && nports < MAX_PORTS) {
      int port = atoi(argv[i] + 8);
      if (port < 1 || port > 65535) {
        fprintf(stderr, "netlink-info-dump: bad port in %s\n", argv[i]);
        return 2;
      }
      ports[nports++] = argv[i][2] == 's' ? port : -port;
    } else {
      fprintf(stderr, "netlink-info-dump: unknown or extra argument %s\n", argv[i]);
      return 2;
    }
  }
  if (nports > 0) build_filter(ports, nports);
  unsigned char ext = info ? (unsigned char)(1 << (INET_DIAG_INFO - 1)) : 0;
  struct timespec t0, t1, c0, c1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
  long total;
  if (per_family) {
    struct inet_diag_req_v2 req = {0};
    req.sdiag_protocol = IPPROTO_TCP;
    req.idiag_ext = ext;
    req.idiag_states = states;
    req.sdiag_family = AF_INET;
    long v4 = dump(&req, sizeof req, SOCK_DIAG_BY_FAMILY, 0);
    req.sdiag_family = AF_INET6;
    long v6 = dump(&req, sizeof req, SOCK_DIAG_BY_FAMILY, 1);
    total = v4 < 0 ? -1 : v4 + (v6 > 0 ? v6 : 0);
  } else {
    struct inet_diag_req req = {0};
    req.idiag_family = AF_INET;
    req.idiag_ext = ext;
    req.idiag_states = states;
    total = dump(&req, sizeof req, TCPDIAG_GETSOCK, 0);
  }
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  if (total < 0) return 1;
  if (timed)
    printf("%ld %ld %ld %ld\n", total, total_bytes, (long)((t1.tv_sec - t0.tv_sec) * 1000000L + (t1.tv_nsec - t0.tv_nsec) / 1000),
           (long)((c1.tv_sec - c0.tv_sec) * 1000000L + (c1.tv_nsec - c0.tv_nsec) / 1000));
  else printf("%ld %ld\n", total, total_bytes);
  return 0;
}
