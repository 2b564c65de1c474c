/* Device assembly: the backend a configuration names, then the middleware
 * around it — impairment next to the wire, pcap capture above it. The one
 * place that knows the order; preload/engine.c hands it the spec the
 * configuration (config/) filled and drives what comes back. */
#include <errno.h>
#include <string.h>
#include "shim/shim.h"

int shim_dev_open(const struct shim_dev_spec *spec, struct shim_dev *out, int *fail)
{
	struct netdev *dev, *w;
	int err = 0;

	out->dev = out->impair = NULL;
	*fail = SHIM_FAIL_DEV;
	if (spec->kind == SHIM_DEV_LOOP) {
		dev = memdev_loop();
		if (!dev)
			return -ENOMEM;
	} else {
		if (spec->kind == SHIM_DEV_PACKET)
			dev = packetdev_open(spec->ifname, &spec->opts, &err);
		else
			dev = tapdev_open(spec->ifname, &spec->opts, &err);
		if (!dev)
			return err < 0 ? err : -ENODEV;
	}
	if (spec->have_mac)
		memcpy(dev->mac, spec->mac, 6);
	if (spec->impair) {
		w = impairdev_wrap_dirs(dev, &spec->impair_tx, &spec->impair_rx, &err);
		if (!w) {
			*fail = SHIM_FAIL_IMPAIR;
			netdev_close(dev);
			return err;
		}
		dev = out->impair = w;
	}
	if (spec->pcap) {
		w = pcapdev_wrap(dev, spec->pcap, &err);
		if (!w) {
			*fail = SHIM_FAIL_PCAP;
			netdev_close(dev);
			out->impair = NULL;
			return err < 0 ? err : -EINVAL;
		}
		dev = w;
	}
	out->dev = dev;
	*fail = 0;
	return 0;
}
