/* Stands in for libgupnp-igd (UPnP port mapping, unused on loopback) so that libnice does not pull
   libsoup3 into whip-client, which links libsoup2: the two cannot share a process. */
#include <stddef.h>
typedef unsigned long GType;
void *gupnp_simple_igd_thread_new(void) { return NULL; }
GType gupnp_simple_igd_get_type(void) { return 0; }
void gupnp_simple_igd_add_port(void *self, const char *protocol, unsigned external_port,
    const char *local_ip, unsigned local_port, unsigned lease_duration, const char *description) {}
void gupnp_simple_igd_remove_port_local(void *self, const char *protocol, const char *local_ip,
    unsigned local_port) {}
