/* Device assembly: the backend a configuration names, then the middleware
 * around it — impairment next to the wire, pcap capture above it. The one
 * place that knows the order; preload/engine.c hands it the spec the
 * configuration (config/) filled and drives what comes back. */
#include <errno.h>
#include <string.h>
#include "shim/shim.h"
#include "shim/dev_fork.h"

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
		if (spec->adopt)
			dev = spec->kind == SHIM_DEV_PACKET ?
			      packetdev_adopt(spec->adopt_fd, spec->ifname, &spec->opts, &err) :
			      tapdev_adopt(spec->adopt_fd, spec->ifname, &spec->opts, &err);
		else if (spec->kind == SHIM_DEV_PACKET)
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

/* ---- after fork ----------------------------------------------------------- */

/* The layer below a middleware, NULL for a backend. */
static struct netdev *shim_dev_lower(struct netdev *dev)
{
	if (pcapdev_is(dev))
		return pcapdev_lower(dev);
	if (impairdev_is(dev))
		return impairdev_lower(dev);
	return NULL;
}

void shim_dev_abandon(struct netdev *inherited)
{
	while (inherited) {
		struct netdev *lower = shim_dev_lower(inherited);

		if (pcapdev_is(inherited))
			pcapdev_abandon(inherited);
		else if (impairdev_is(inherited))
			impairdev_abandon(inherited);
		else if (uring_dev_is(inherited))
			uring_dev_abandon(inherited);
		else if (memdev_is(inherited))
			memdev_abandon(inherited);
		/* else: not one of ours; left as it is (leaked) */
		inherited = lower;
	}
}

/* Bottom-up, as shim_dev_open: the backend first, then each middleware
 * wrapped around the child's device below it. */
struct netdev *shim_dev_fork(struct netdev *inherited, int *err)
{
	struct netdev *lower;
	int dummy;

	if (!err)
		err = &dummy;
	if (!inherited) {
		*err = -EINVAL;
		return NULL;
	}
	if (uring_dev_is(inherited))
		return uring_dev_fork(inherited, err);
	if (memdev_is(inherited))
		return memdev_fork(inherited, err);
	if (!pcapdev_is(inherited) && !impairdev_is(inherited)) {
		*err = -EOPNOTSUPP;
		return NULL;
	}
	lower = shim_dev_fork(shim_dev_lower(inherited), err);
	if (!lower) {
		/* the layers below are abandoned already */
		if (pcapdev_is(inherited))
			pcapdev_abandon(inherited);
		else
			impairdev_abandon(inherited);
		return NULL;
	}
	if (pcapdev_is(inherited))
		return pcapdev_fork(inherited, lower, err);
	return impairdev_fork(inherited, lower, err);
}

struct netdev *shim_dev_impair(struct netdev *top)
{
	for (; top; top = shim_dev_lower(top))
		if (impairdev_is(top))
			return top;
	return NULL;
}

int shim_dev_fd(struct netdev *top)
{
	for (; top; top = shim_dev_lower(top))
		if (uring_dev_is(top))
			return uring_dev_frame_fd(top);
	return -1;
}
