/*
 * The floor: dump the TCP socket table over NETLINK_SOCK_DIAG exactly as the exporter asks for
 * it (every state but BOUND_INACTIVE, no extensions) and only count the records. Compiled by
 * bench/run.mjs at bench time. Prints "<sockets>" and exits 0.
 *
 *   netlink-dump               one TCPDIAG_GETSOCK dump: a single walk of the hash table for
 *                              both families (what the exporter does where the kernel serves it)
 *   netlink-dump --per-family  SOCK_DIAG_BY_FAMILY for AF_INET, then AF_INET6 (two walks; what
 *                              `ss` and the exporter's fallback do)
 */
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define STATES 0x1ffe

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

static int open_diag(void) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0) perror("socket");
  return fd;
}

static long dump_family(int family) {
  int fd = open_diag();
  if (fd < 0) return -1;
  struct {
    struct nlmsghdr nlh;
    struct inet_diag_req_v2 req;
  } msg;
  memset(&msg, 0, sizeof msg);
  msg.nlh.nlmsg_len = sizeof msg;
  msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  msg.nlh.nlmsg_seq = 1;
  msg.req.sdiag_family = (unsigned char)family;
  msg.req.sdiag_protocol = IPPROTO_TCP;
  msg.req.idiag_states = STATES;
  long count = send(fd, &msg, sizeof msg, 0) < 0 ? (perror("send"), -1) : receive(fd, family == AF_INET6);
  close(fd);
  return count;
}

static long dump_all(void) {
  int fd = open_diag();
  if (fd < 0) return -1;
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
  long count = send(fd, &msg, sizeof msg, 0) < 0 ? (perror("send"), -1) : receive(fd, 0);
  close(fd);
  return count;
}

int main(int argc, char **argv) {
  long total;
  if (argc > 1 && strcmp(argv[1], "--per-family") == 0) {
    long v4 = dump_family(AF_INET);
    long v6 = dump_family(AF_INET6);
    total = v4 < 0 ? -1 : v4 + (v6 > 0 ? v6 : 0);
  } else {
    total = dump_all();
  }
  if (total < 0) return 1;
  printf("%ld\n", total);
  return 0;
}
