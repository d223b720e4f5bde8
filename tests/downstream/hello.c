/* A downstream program: built against an installed libnetmoon through pkg-config. */
#include <stdio.h>
#include <string.h>

#include <netmoon/netmoon.h>

static int count(const struct netmoon_conn *conn, void *user)
{
	(void)conn;
	++*(unsigned *)user;
	return 0;
}

int main(int argc, char **argv)
{
	NETMOON_OPTS(netmoon_frame, f);
	struct netmoon_capture *cap;
	struct netmoon_conntable *ct;
	const struct netmoon_packet *pkt;
	unsigned pkts = 0, conns = 0;
	int rc;

	if (argc != 2)
		return 1;
	if (netmoon_version() != NETMOON_VERSION_NUMBER ||
	    strcmp(netmoon_version_string(), NETMOON_VERSION_STRING)) {
		fprintf(stderr, "header and library versions differ\n");
		return 1;
	}
	rc = netmoon_capture_open_file(&cap, argv[1], NULL);
	if (rc) {
		fprintf(stderr, "%s: %s\n", argv[1], netmoon_strerror(rc));
		return 1;
	}
	rc = netmoon_conntable_new(&ct, NULL);
	if (rc)
		return 1;
	while ((rc = netmoon_capture_next(cap, &pkt)) == 1) {
		netmoon_frame_parse(&f, pkt->linktype, pkt->data, pkt->caplen, pkt->wirelen);
		netmoon_conntable_track(ct, &f, pkt->ts_ns, NULL);
		pkts++;
	}
	netmoon_conntable_foreach(ct, count, &conns);
	printf("libnetmoon %s: %u packets, %u connections\n", netmoon_version_string(), pkts, conns);
	netmoon_conntable_free(ct);
	netmoon_capture_close(cap);
	return rc == 0 ? 0 : 1;
}
