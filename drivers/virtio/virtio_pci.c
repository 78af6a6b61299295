/* The VirtIO PCI transport; see virtio_pci.h. */
#include "virtio_pci.h"

#include <stdlib.h>
#include <string.h>

#include "../../runtime/cpu.h"
#include "../../runtime/fmt.h"
#include "../../runtime/irq.h"
#include "../../runtime/le.h"

#define CAP_VENDOR 0x09		/* PCI capability id: vendor-specific */
#define CAP_MSIX 0x11
/* §4.1.4 virtio_pci_cap: cfg_type at +3, bar at +4, offset at +8,
 * length at +12; notify's multiplier at +16. */
#define CFG_COMMON 1
#define CFG_NOTIFY 2
#define CFG_ISR 3
#define CFG_DEVICE 4

/* §4.1.4.3 common configuration structure */
#define C_DFSELECT 0x00		/* le32 rw device_feature_select */
#define C_DF 0x04		/* le32 r  device_feature */
#define C_GFSELECT 0x08		/* le32 rw driver_feature_select */
#define C_GF 0x0c		/* le32 rw driver_feature */
#define C_MSIX_CONFIG 0x10	/* le16 rw msix_config */
#define C_NUMQ 0x12		/* le16 r  num_queues */
#define C_STATUS 0x14		/* u8   rw device_status */
#define C_GEN 0x15		/* u8   r  config_generation */
#define C_QSELECT 0x16		/* le16 rw queue_select */
#define C_QSIZE 0x18		/* le16 rw queue_size */
#define C_QMSIX 0x1a		/* le16 rw queue_msix_vector */
#define C_QENABLE 0x1c		/* le16 rw queue_enable */
#define C_QNOFF 0x1e		/* le16 r  queue_notify_off */
#define C_QDESC 0x20		/* le64 rw queue_desc */
#define C_QDRIVER 0x28		/* le64 rw queue_driver */
#define C_QDEVICE 0x30		/* le64 rw queue_device */

/* §4.1.4.8 legacy I/O registers */
#define L_HOST_FEATURES 0x00	/* le32 r */
#define L_GUEST_FEATURES 0x04	/* le32 rw */
#define L_QUEUE_PFN 0x08	/* le32 rw, in 4096-byte pages */
#define L_QUEUE_SIZE 0x0c	/* le16 r */
#define L_QUEUE_SELECT 0x0e	/* le16 rw */
#define L_QUEUE_NOTIFY 0x10	/* le16 rw */
#define L_STATUS 0x12		/* u8 rw */
#define L_ISR 0x13		/* u8 r */
#define L_CONFIG 0x14		/* device config, MSI-X disabled */

#define MAX_QUEUES 20	/* virtio-console: control and 8 ports */
#define NO_VECTOR 0xffff	/* §4.1.5.1.2 */
#define ISR_QUEUE 1		/* §4.1.4.5 ISR status bits */
#define ISR_CONFIG 2

struct vpci {
	struct pci_dev *pci;
	volatile uint8_t *common, *notify, *device, *isr;
	uint32_t notify_mult, notify_len, device_len;
	volatile uint16_t *qnotify[MAX_QUEUES];	/* each queue's doorbell */
	uint16_t io;
	/* interrupts */
	struct pci_msix msix;
	int config_vec, intx_vec;
	char config_name[24];
	irq_fn *fn[MAX_QUEUES];		/* INTx (and MSI-X entry 1 when */
	void *ctx[MAX_QUEUES];		/* shared): whom the ISR calls */
	int entry1_vec;			/* MSI-X entry 1's vector */
	uint32_t shared;		/* queues on entry 1 */
	uint64_t config_changes;
};

static struct vpci *vp(struct virtio_dev *d)
{
	return d->transport;
}

uint16_t virtio_pci_type(const struct pci_dev *p)
{
	if (p->vendor != VIRTIO_PCI_VENDOR)
		return 0;
	if (p->device >= 0x1040 && p->device <= 0x107f)
		return (uint16_t)(p->device - 0x1040);
	if (p->device >= 0x1000 && p->device <= 0x103f)
		return p->subsys;	/* transitional: type in subsystem id */
	return 0;
}

/* --- modern -------------------------------------------------------------- */

static uint64_t m_get_features(struct virtio_dev *d)
{
	volatile uint8_t *c = vp(d)->common;
	mmio_write32(c, C_DFSELECT, 0);
	uint64_t lo = mmio_read32(c, C_DF);
	mmio_write32(c, C_DFSELECT, 1);
	uint64_t hi = mmio_read32(c, C_DF);
	return hi << 32 | lo;
}

static void m_set_features(struct virtio_dev *d, uint64_t f)
{
	volatile uint8_t *c = vp(d)->common;
	mmio_write32(c, C_GFSELECT, 0);
	mmio_write32(c, C_GF, (uint32_t)f);
	mmio_write32(c, C_GFSELECT, 1);
	mmio_write32(c, C_GF, (uint32_t)(f >> 32));
}

static uint8_t m_get_status(struct virtio_dev *d)
{
	return vp(d)->common[C_STATUS];
}

static void m_set_status(struct virtio_dev *d, uint8_t s)
{
	vp(d)->common[C_STATUS] = s;
}

/* §2.5.1: read until config_generation is stable across the read. */
static void m_read_config(struct virtio_dev *d, uint32_t off, void *buf,
			  uint32_t len)
{
	struct vpci *v = vp(d);
	uint8_t *p = buf;
	if (off > v->device_len || len > v->device_len - off) {
		memset(buf, 0, len);
		return;
	}
	for (int tries = 0; tries < 100; tries++) {
		uint8_t g = v->common[C_GEN];
		for (uint32_t i = 0; i < len; i++)
			p[i] = v->device[off + i];
		if (v->common[C_GEN] == g)
			return;
	}
}

static void m_write_config(struct virtio_dev *d, uint32_t off,
			   const void *buf, uint32_t len)
{
	struct vpci *v = vp(d);
	const uint8_t *p = buf;
	if (off > v->device_len || len > v->device_len - off)
		return;
	for (uint32_t i = 0; i < len; i++)
		v->device[off + i] = p[i];
}

static uint16_t m_queue_max(struct virtio_dev *d, uint16_t q, int *fixed)
{
	volatile uint8_t *c = vp(d)->common;
	*fixed = 0;
	if (q >= mmio_read16(c, C_NUMQ))
		return 0;
	mmio_write16(c, C_QSELECT, q);
	return mmio_read16(c, C_QSIZE);
}

static int m_queue_enable(struct virtio_dev *d, uint16_t q, uint16_t size,
			  uint64_t desc, uint64_t driver, uint64_t device)
{
	struct vpci *v = vp(d);
	volatile uint8_t *c = v->common;
	if (q >= MAX_QUEUES)
		return VIRTIO_ERR_QUEUE;
	mmio_write16(c, C_QSELECT, q);
	/* §4.1.4.4: the doorbell is at notify + queue_notify_off * mult,
	 * and must lie inside the notify structure the capability gave. */
	uint64_t at = (uint64_t)mmio_read16(c, C_QNOFF) * v->notify_mult;
	if (at > v->notify_len || v->notify_len - at < 2)
		return VIRTIO_ERR_QUEUE;
	v->qnotify[q] = (volatile uint16_t *)(v->notify + at);
	mmio_write16(c, C_QSIZE, size);
	mmio_write16(c, C_QMSIX, 0xffff);	/* no vector */
	mmio_write64(c, C_QDESC, desc);
	mmio_write64(c, C_QDRIVER, driver);
	mmio_write64(c, C_QDEVICE, device);
	mmio_write16(c, C_QENABLE, 1);
	return 0;
}

static void m_notify(struct virtio_dev *d, uint16_t q)
{
	if (q < MAX_QUEUES && vp(d)->qnotify[q])
		*vp(d)->qnotify[q] = q;
}

/* --- interrupts ------------------------------------------------------------ */

/* INTx (§4.1.4.5): reading the ISR tells which kind and deasserts the
 * level-triggered line. */
static int intx(void *ctx)
{
	struct vpci *v = ctx;
	uint8_t isr = v->io ? inb(v->io + L_ISR) : v->isr ? *v->isr : 0;
	if (isr & ISR_CONFIG)
		v->config_changes++;
	for (int q = 0; (isr & ISR_QUEUE) && q < MAX_QUEUES; q++)
		if (v->fn[q])
			v->fn[q](v->ctx[q]);
	return isr != 0;
}

static int intx_irq(struct vpci *v, uint16_t q, const char *name,
		    irq_fn *fn, void *ctx)
{
	v->fn[q] = fn;
	v->ctx[q] = ctx;
	if (!v->intx_vec) {
		int vec = irq_alloc(name, intx, v);
		if (!vec || pci_intx_route(v->pci, vec))
			return 0;
		v->intx_vec = vec;
	}
	return v->intx_vec;
}

static int config_changed(void *ctx)
{
	((struct vpci *)ctx)->config_changes++;
	return 1;
}

static void msix_mask(void *ctx)
{
	struct vpci *v = ctx;
	pci_msix_enable(v->pci, &v->msix, 0);
}

/* MSI-X entry 1 shared by several queues: each queue's handler looks. */
static int shared_irq(void *ctx)
{
	struct vpci *v = ctx;
	int any = 0;
	for (int q = 0; q < MAX_QUEUES; q++)
		if ((v->shared >> q & 1) && v->fn[q])
			any |= v->fn[q](v->ctx[q]);
	return any;
}

/* §4.1.4.3, §4.1.5.1.2: MSI-X entry 0 for configuration changes, entry
 * 1 + q for queue q; a vector the device cannot use reads back as
 * NO_VECTOR. A table too small for that (virtio-serial-pci has 2 entries
 * by default, for up to 64 queues) puts the queues beyond it on entry 1
 * with queue 0, as Linux does: one vector whose handler asks each. */
static int m_irq(struct virtio_dev *d, uint16_t q, const char *name,
		 irq_fn *fn, void *ctx)
{
	struct vpci *v = vp(d);
	volatile uint8_t *c = v->common;
	if (q >= MAX_QUEUES)
		return 0;
	if (!v->msix.table && pci_msix_init(v->pci, &v->msix))
		return v->isr ? intx_irq(v, q, name, fn, ctx) : 0;
	if (v->msix.size < 2)
		return 0;
	uint16_t entry = v->msix.size < q + 2u ? 1 : (uint16_t)(1 + q);
	v->fn[q] = fn;
	v->ctx[q] = ctx;
	if (!v->config_vec) {
		fmt_snprintf(v->config_name, sizeof(v->config_name),
			     "%s-config", name);
		v->config_vec = irq_alloc(v->config_name, config_changed, v);
		if (!v->config_vec)
			return 0;
		pci_msix_set(&v->msix, 0, v->config_vec);
		mmio_write16(c, C_MSIX_CONFIG, 0);
	}
	int vec = entry == 1 && v->entry1_vec ? v->entry1_vec
						 : irq_alloc(name, fn, ctx);
	if (!vec)
		return 0;
	if (entry == 1) {	/* queue 0's own, or shared: ask each */
		v->shared |= 1u << q;
		if (v->shared & (v->shared - 1))	/* more than one */
			irq_replace(vec, shared_irq, v);
		v->entry1_vec = vec;
	}
	pci_msix_set(&v->msix, entry, vec);
	mmio_write16(c, C_QSELECT, q);
	mmio_write16(c, C_QMSIX, entry);
	if (mmio_read16(c, C_QMSIX) == NO_VECTOR)
		return 0;
	irq_set_mask_fn(vec, msix_mask, v);
	pci_msix_enable(v->pci, &v->msix, 1);
	return vec;
}

static int l_irq(struct virtio_dev *d, uint16_t q, const char *name,
		 irq_fn *fn, void *ctx)
{
	/* MSI-X stays off with legacy: it would move the config (§4.1.4.8) */
	return q < MAX_QUEUES ? intx_irq(vp(d), q, name, fn, ctx) : 0;
}

static const struct virtio_ops modern_ops = {
	m_get_features, m_set_features, m_get_status, m_set_status,
	m_read_config, m_queue_max, m_queue_enable, m_notify, m_irq,
	m_write_config,
};

/* Maps the structure a capability describes, if its BAR is memory. */
static volatile uint8_t *cap_map(struct pci_dev *p, uint8_t cap, uint32_t *len)
{
	uint8_t bar = pci_read8(p, cap + 4);
	uint32_t off = pci_read32(p, cap + 8);
	*len = pci_read32(p, cap + 12);
	if (bar > 5 || !p->bar[bar].size || p->bar[bar].io ||
	    off > p->bar[bar].size || *len > p->bar[bar].size - off)
		return 0;
	volatile uint8_t *base = pci_map_bar(p, bar);
	return base ? base + off : 0;
}

static int attach_modern(struct pci_dev *p, struct vpci *v)
{
	uint32_t len;
	for (uint8_t cap = pci_find_cap(p, CAP_VENDOR, 0); cap;
	     cap = pci_find_cap(p, CAP_VENDOR, cap)) {
		switch (pci_read8(p, cap + 3)) {
		case CFG_COMMON:
			if (!v->common && (v->common = cap_map(p, cap, &len)) &&
			    len < 0x38)
				v->common = 0;
			break;
		case CFG_NOTIFY:
			if (!v->notify) {
				v->notify = cap_map(p, cap, &v->notify_len);
				v->notify_mult = pci_read32(p, cap + 16);
			}
			break;
		case CFG_DEVICE:
			if (!v->device)
				v->device = cap_map(p, cap, &v->device_len);
			break;
		case CFG_ISR:
			if (!v->isr)
				v->isr = cap_map(p, cap, &len);
			break;
		}
	}
	return v->common && v->notify ? 0 : -1;
}

/* --- legacy -------------------------------------------------------------- */

static uint64_t l_get_features(struct virtio_dev *d)
{
	return inl(vp(d)->io + L_HOST_FEATURES);
}

static void l_set_features(struct virtio_dev *d, uint64_t f)
{
	outl(vp(d)->io + L_GUEST_FEATURES, (uint32_t)f);
}

static uint8_t l_get_status(struct virtio_dev *d)
{
	return inb(vp(d)->io + L_STATUS);
}

static void l_set_status(struct virtio_dev *d, uint8_t s)
{
	outb(vp(d)->io + L_STATUS, s);
}

static void l_read_config(struct virtio_dev *d, uint32_t off, void *buf,
			  uint32_t len)
{
	uint8_t *p = buf;
	for (uint32_t i = 0; i < len; i++)
		p[i] = inb((uint16_t)(vp(d)->io + L_CONFIG + off + i));
}

static void l_write_config(struct virtio_dev *d, uint32_t off,
			   const void *buf, uint32_t len)
{
	const uint8_t *p = buf;
	for (uint32_t i = 0; i < len; i++)
		outb((uint16_t)(vp(d)->io + L_CONFIG + off + i), p[i]);
}

static uint16_t l_queue_max(struct virtio_dev *d, uint16_t q, int *fixed)
{
	*fixed = 1;
	outw(vp(d)->io + L_QUEUE_SELECT, q);
	return inw(vp(d)->io + L_QUEUE_SIZE);
}

/* Legacy: the queue's page number, in the §2.7.2 layout. */
static int l_queue_enable(struct virtio_dev *d, uint16_t q, uint16_t size,
			  uint64_t desc, uint64_t driver, uint64_t device)
{
	if (!virtio_legacy_layout_ok(size, desc, driver, device))
		return VIRTIO_ERR_QUEUE;
	outw(vp(d)->io + L_QUEUE_SELECT, q);
	outl(vp(d)->io + L_QUEUE_PFN, (uint32_t)(desc / VIRTIO_LEGACY_ALIGN));
	return 0;
}

static void l_notify(struct virtio_dev *d, uint16_t q)
{
	outw(vp(d)->io + L_QUEUE_NOTIFY, q);
}

static const struct virtio_ops legacy_ops = {
	l_get_features, l_set_features, l_get_status, l_set_status,
	l_read_config, l_queue_max, l_queue_enable, l_notify, l_irq,
	l_write_config,
};

/* The legacy config moves by 4 bytes while MSI-X is on; keep it off. */
static void msix_off(struct pci_dev *p)
{
	uint8_t cap = pci_find_cap(p, CAP_MSIX, 0);
	if (cap)
		pci_write16(p, cap + 2, pci_read16(p, cap + 2) & 0x3fff);
}

int virtio_pci_attach(struct pci_dev *p, struct virtio_dev *d)
{
	struct vpci *v = calloc(1, sizeof(*v));
	if (!v)
		return VIRTIO_ERR_NOMEM;
	v->pci = p;
	memset(d, 0, sizeof(*d));
	d->transport = v;
	d->pci = p;
	d->type = virtio_pci_type(p);
	pci_enable(p, PCI_CMD_MEM | PCI_CMD_IO | PCI_CMD_MASTER);
	if (!attach_modern(p, v)) {
		d->ops = &modern_ops;
		d->transport_name = "modern";
		return 0;
	}
	if (p->bar[0].io && p->bar[0].size >= L_CONFIG) {
		msix_off(p);
		v->io = (uint16_t)p->bar[0].base;
		d->ops = &legacy_ops;
		d->legacy = 1;
		d->transport_name = "legacy";
		return 0;
	}
	free(v);
	d->transport = 0;
	return VIRTIO_ERR_DEVICE;
}

void virtio_pci_detach(struct virtio_dev *d)
{
	free(d->transport);
	d->transport = 0;
}

int virtio_pci_drive(struct pci_dev *p,
		     int (*attach)(struct virtio_dev *d, const char **why),
		     const char **why)
{
	struct virtio_dev *v = calloc(1, sizeof(*v));
	int err = v ? virtio_pci_attach(p, v) : VIRTIO_ERR_NOMEM;
	*why = err == VIRTIO_ERR_DEVICE
	       ? "no usable PCI transport (modern or legacy)" : "out of memory";
	if (!err)
		err = attach(v, why);
	if (err && v) {
		virtio_pci_detach(v);
		free(v);
	}
	return err;
}
