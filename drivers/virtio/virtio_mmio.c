/* The VirtIO MMIO transport; see virtio_mmio.h. Register offsets from
 * virtio 1.2 §4.2.2 (table 4.1) and §4.2.4 (legacy). */
#include "virtio_mmio.h"

#include <stdlib.h>
#include <string.h>

#include "../../runtime/acpi.h"
#include "../../runtime/acpi_dev.h"
#include "../../runtime/cmdline.h"
#include "../../runtime/irq.h"
#include "../../runtime/le.h"
#include "../../runtime/paging.h"
#include "../../runtime/runtime.h"
#include "../blk.h"

#define R_MAGIC 0x000		/* r   "virt" */
#define R_VERSION 0x004		/* r   2; legacy 1 */
#define R_DEVICE_ID 0x008	/* r   §5 device type; 0 = empty slot */
#define R_DEVICE_FEATURES 0x010	/* r   32 bits, word DEVICE_FEATURES_SEL */
#define R_DEVICE_FEATURES_SEL 0x014	/* w */
#define R_DRIVER_FEATURES 0x020	/* w   32 bits, word DRIVER_FEATURES_SEL */
#define R_DRIVER_FEATURES_SEL 0x024	/* w */
#define R_GUEST_PAGE_SIZE 0x028	/* w   legacy */
#define R_QUEUE_SEL 0x030	/* w */
#define R_QUEUE_NUM_MAX 0x034	/* r */
#define R_QUEUE_NUM 0x038	/* w */
#define R_QUEUE_ALIGN 0x03c	/* w   legacy */
#define R_QUEUE_PFN 0x040	/* rw  legacy */
#define R_QUEUE_READY 0x044	/* rw */
#define R_QUEUE_NOTIFY 0x050	/* w */
#define R_INTERRUPT_STATUS 0x060	/* r */
#define R_INTERRUPT_ACK 0x064	/* w */
#define R_STATUS 0x070		/* rw  0 resets */
#define R_QUEUE_DESC 0x080	/* w   low, high at +4 */
#define R_QUEUE_DRIVER 0x090	/* w   low, high at +4 */
#define R_QUEUE_DEVICE 0x0a0	/* w   low, high at +4 */
#define R_CONFIG_GENERATION 0x0fc	/* r */
#define R_CONFIG 0x100		/* device-specific configuration */

#define MAGIC 0x74726976u	/* "virt", little-endian */
#define QUEUE_MAX 32768		/* §2.7: the largest queue there is */
#define LOW_MEMORY (1ull << 20)

/* QEMU microvm: transports from VIRTIO_MMIO_BASE, 512 bytes apart, 24 of
 * them with its second IOAPIC (8 without). */
#define MICROVM_BASE 0xfeb00000ull
#define MICROVM_STRIDE 512
#define MICROVM_SLOTS 24
#define ACPI_HID "LNRO0005"
#define WORD_KEY "virtio_mmio.device"

#define MAX_QUEUES 20	/* virtio-console: control and 8 ports */

struct vmmio {
	volatile uint8_t *regs;
	uint32_t cfg_len;	/* bytes of device config in the range */
	uint32_t irq;		/* the device's interrupt (a GSI) */
	int has_irq;
	int vec;		/* routed to this vector; 0: polled */
	irq_fn *fn[MAX_QUEUES];
	void *ctx[MAX_QUEUES];
	uint64_t config_changes;
};

static struct vmmio *vm(struct virtio_dev *d)
{
	return d->transport;
}

/* §4.2.2.2: control registers only through aligned 32-bit accesses. */
static uint32_t rd(struct virtio_dev *d, uint32_t off)
{
	return mmio_read32(vm(d)->regs, off);
}

static void wr(struct virtio_dev *d, uint32_t off, uint32_t v)
{
	mmio_write32(vm(d)->regs, off, v);
}

static uint64_t get_features(struct virtio_dev *d)
{
	wr(d, R_DEVICE_FEATURES_SEL, 0);
	uint64_t lo = rd(d, R_DEVICE_FEATURES);
	wr(d, R_DEVICE_FEATURES_SEL, 1);
	return (uint64_t)rd(d, R_DEVICE_FEATURES) << 32 | lo;
}

/* Legacy devices take only the first word (§4.2.4: 32 feature bits). */
static void set_features(struct virtio_dev *d, uint64_t f)
{
	wr(d, R_DRIVER_FEATURES_SEL, 0);
	wr(d, R_DRIVER_FEATURES, (uint32_t)f);
	if (d->legacy)
		return;
	wr(d, R_DRIVER_FEATURES_SEL, 1);
	wr(d, R_DRIVER_FEATURES, (uint32_t)(f >> 32));
}

static uint8_t get_status(struct virtio_dev *d)
{
	return (uint8_t)rd(d, R_STATUS);
}

/* 0 resets; virtio_reset waits for it to read back (§2.4). */
static void set_status(struct virtio_dev *d, uint8_t s)
{
	wr(d, R_STATUS, s);
}

/* §4.2.2.2: config fields by their own width (8, 16, or 32 bits, 64 as
 * two 32s); anything else byte by byte. */
static void read_once(volatile uint8_t *c, uint32_t off, uint8_t *p,
		      uint32_t len)
{
	if (len == 2 && off % 2 == 0) {
		le16_put(p, mmio_read16(c, off));
	} else if ((len == 4 || len == 8) && off % 4 == 0) {
		for (uint32_t i = 0; i < len; i += 4)
			le32_put(p + i, mmio_read32(c, off + i));
	} else {
		for (uint32_t i = 0; i < len; i++)
			p[i] = mmio_read8(c, off + i);
	}
}

/* §2.5.1 (modern): read until ConfigGeneration is the same around it. */
static void read_config(struct virtio_dev *d, uint32_t off, void *buf,
			uint32_t len)
{
	struct vmmio *v = vm(d);
	if (off > v->cfg_len || len > v->cfg_len - off) {
		memset(buf, 0, len);
		return;
	}
	for (int tries = 0; tries < 100; tries++) {
		uint32_t g = d->legacy ? 0 : rd(d, R_CONFIG_GENERATION);
		read_once(v->regs + R_CONFIG, off, buf, len);
		if (d->legacy || rd(d, R_CONFIG_GENERATION) == g)
			return;
	}
}

/* §4.2.2.2: byte fields by byte writes. */
static void write_config(struct virtio_dev *d, uint32_t off, const void *buf,
			 uint32_t len)
{
	struct vmmio *v = vm(d);
	const uint8_t *p = buf;
	if (off > v->cfg_len || len > v->cfg_len - off)
		return;
	for (uint32_t i = 0; i < len; i++)
		mmio_write8(v->regs, R_CONFIG + off + i, p[i]);
}

/* §4.2.3.2 steps 1-3 (§4.2.4 for legacy): a queue already in use, or one
 * the device does not have, is 0. */
static uint16_t queue_max(struct virtio_dev *d, uint16_t q, int *fixed)
{
	*fixed = 0;
	wr(d, R_QUEUE_SEL, q);
	if (rd(d, d->legacy ? R_QUEUE_PFN : R_QUEUE_READY))
		return 0;
	uint32_t max = rd(d, R_QUEUE_NUM_MAX);
	return (uint16_t)(max > QUEUE_MAX ? QUEUE_MAX : max);
}

static void wr64(struct virtio_dev *d, uint32_t off, uint64_t v)
{
	wr(d, off, (uint32_t)v);
	wr(d, off + 4, (uint32_t)(v >> 32));
}

/* §4.2.3.2 steps 5-7. */
static int queue_enable_v2(struct virtio_dev *d, uint16_t q, uint16_t size,
			   uint64_t desc, uint64_t driver, uint64_t device)
{
	wr(d, R_QUEUE_SEL, q);
	wr(d, R_QUEUE_NUM, size);
	wr64(d, R_QUEUE_DESC, desc);
	wr64(d, R_QUEUE_DRIVER, driver);
	wr64(d, R_QUEUE_DEVICE, device);
	wr(d, R_QUEUE_READY, 1);
	return rd(d, R_QUEUE_READY) == 1 ? 0 : VIRTIO_ERR_QUEUE;
}

/* §4.2.4 steps 5-7: size, used-ring alignment, page number (in the
 * GuestPageSize units that attach wrote). */
static int queue_enable_v1(struct virtio_dev *d, uint16_t q, uint16_t size,
			   uint64_t desc, uint64_t driver, uint64_t device)
{
	if (!virtio_legacy_layout_ok(size, desc, driver, device))
		return VIRTIO_ERR_QUEUE;
	wr(d, R_QUEUE_SEL, q);
	wr(d, R_QUEUE_NUM, size);
	wr(d, R_QUEUE_ALIGN, VIRTIO_LEGACY_ALIGN);
	wr(d, R_QUEUE_PFN, (uint32_t)(desc / VIRTIO_LEGACY_ALIGN));
	return 0;
}

/* §4.2.3.3: the queue's index, without VIRTIO_F_NOTIFICATION_DATA. */
static void notify(struct virtio_dev *d, uint16_t q)
{
	wr(d, R_QUEUE_NOTIFY, q);
}

/* §4.2.2 InterruptStatus bit 0: used buffers, bit 1: configuration
 * change; writing them to InterruptACK deasserts the line, which is
 * level-triggered and active high (QEMU's DSDT says so for LNRO0005). */
static int isr(void *ctx)
{
	struct vmmio *v = ctx;
	uint32_t st = mmio_read32(v->regs, R_INTERRUPT_STATUS);
	if (!st)
		return 0;
	mmio_write32(v->regs, R_INTERRUPT_ACK, st);
	if (st & 2)
		v->config_changes++;
	for (int q = 0; (st & 1) && q < MAX_QUEUES; q++)
		if (v->fn[q])
			v->fn[q](v->ctx[q]);
	return 1;
}

/* The device's one interrupt line, through the IOAPIC pin (GSI) the
 * DSDT or the virtio_mmio.device= word gave. */
static int irq(struct virtio_dev *d, uint16_t q, const char *name,
	       irq_fn *fn, void *ctx)
{
	struct vmmio *v = vm(d);
	if (!v->has_irq || q >= MAX_QUEUES)
		return 0;
	v->fn[q] = fn;
	v->ctx[q] = ctx;
	if (!v->vec) {
		int vec = irq_alloc(name, isr, v);
		if (!vec || irq_route_gsi(vec, v->irq, 1, 0))
			return 0;
		v->vec = vec;
	}
	return v->vec;
}

static const struct virtio_ops v2_ops = {
	get_features, set_features, get_status, set_status,
	read_config, queue_max, queue_enable_v2, notify, irq, write_config,
};

static const struct virtio_ops v1_ops = {
	get_features, set_features, get_status, set_status,
	read_config, queue_max, queue_enable_v1, notify, irq, write_config,
};

int virtio_mmio_attach(const struct virtio_mmio_loc *loc,
		       struct virtio_dev *d, const char **why)
{
	*why = "register range too small, misplaced or wrapping";
	if (loc->size < R_CONFIG || loc->size > (1u << 20) ||
	    loc->base < LOW_MEMORY || loc->base % 4 ||
	    loc->base + loc->size < loc->base)
		return VIRTIO_ERR_DEVICE;
	*why = "register range overlaps RAM";
	if (runtime_is_ram(loc->base, loc->size))
		return VIRTIO_ERR_DEVICE;
	*why = "out of memory";
	struct vmmio *v = calloc(1, sizeof(*v));
	if (!v || paging_map_mmio(loc->base, loc->size)) {
		free(v);
		return VIRTIO_ERR_NOMEM;
	}
	v->regs = (volatile uint8_t *)(uintptr_t)loc->base;
	v->cfg_len = (uint32_t)(loc->size - R_CONFIG);
	v->irq = loc->irq;
	v->has_irq = loc->has_irq;
	memset(d, 0, sizeof(*d));
	d->transport = v;
	/* §4.2.3.1: magic and version first; DeviceID 0 means stop there. */
	uint32_t version = rd(d, R_VERSION), id = rd(d, R_DEVICE_ID);
	int err = VIRTIO_ERR_DEVICE;
	if (rd(d, R_MAGIC) != MAGIC)
		*why = "no virtio-mmio magic value";
	else if (version != 1 && version != 2)
		*why = "unsupported version (not 1 or 2)";
	else if (id == 0)
		err = VIRTIO_ERR_NODEV;
	else if (id > 0xffff)
		*why = "device id out of range";
	else
		err = 0;
	if (err) {
		free(v);
		d->transport = 0;
		return err;
	}
	d->type = (uint16_t)id;
	d->legacy = version == 1;
	d->ops = d->legacy ? &v1_ops : &v2_ops;
	d->transport_name = d->legacy ? "mmio v1" : "mmio v2";
	if (d->legacy)	/* §4.2.4: before any queue is set up */
		wr(d, R_GUEST_PAGE_SIZE, VIRTIO_LEGACY_ALIGN);
	return 0;
}

void virtio_mmio_release(struct virtio_dev *d)
{
	free(d->transport);
	d->transport = 0;
}

/* --- where the transports are -------------------------------------------- */

/* A number in C notation (0x hex, leading 0 octal, else decimal), as
 * Linux's memparse reads it; with_suffix takes K, M or G after it. */
static const char *number(const char *s, uint64_t *v, int with_suffix)
{
	unsigned base = 10;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	} else if (s[0] == '0' && s[1]) {
		base = 8;
	}
	const char *start = s;
	*v = 0;
	for (;; s++) {
		unsigned dgt;
		if (*s >= '0' && *s <= '9')
			dgt = (unsigned)(*s - '0');
		else if (base == 16 && (*s | 0x20) >= 'a' && (*s | 0x20) <= 'f')
			dgt = (unsigned)((*s | 0x20) - 'a' + 10);
		else
			break;
		if (dgt >= base || *v > (UINT64_MAX - dgt) / base)
			return 0;
		*v = *v * base + dgt;
	}
	if (s == start)
		return 0;
	if (with_suffix && *s) {
		unsigned shift = (*s | 0x20) == 'k' ? 10 : (*s | 0x20) == 'm'
			       ? 20 : (*s | 0x20) == 'g' ? 30 : 0;
		if (shift) {
			if (*v > UINT64_MAX >> shift)
				return 0;
			*v <<= shift;
			s++;
		}
	}
	return s;
}

int virtio_mmio_parse(const char *s, struct virtio_mmio_loc *loc,
		      const char **why)
{
	uint64_t size, base, irq, id;
	memset(loc, 0, sizeof(*loc));
	*why = "not SIZE@BASE:IRQ";
	if (!(s = number(s, &size, 1)) || *s++ != '@' ||
	    !(s = number(s, &base, 1)) || *s++ != ':' ||
	    !(s = number(s, &irq, 0)))
		return -1;
	if (*s == ':' && !(s = number(s + 1, &id, 0)))
		return -1;
	*why = "trailing characters";
	if (*s)
		return -1;
	*why = "size, base or IRQ out of range";
	if (!size || base + size < base || irq > 0xffffffffull)
		return -1;
	loc->base = base;
	loc->size = size;
	loc->irq = (uint32_t)irq;
	loc->has_irq = 1;
	loc->from = "command line";
	return 0;
}

static int known(const struct virtio_mmio_loc *out, unsigned n, uint64_t base)
{
	for (unsigned i = 0; i < n; i++)
		if (out[i].base == base)
			return 1;
	return 0;
}

static unsigned from_cmdline(struct virtio_mmio_loc *out, unsigned max)
{
	const char *pos = cmdline_get(), *why;
	char word[64];
	unsigned n = 0;
	long len;
	while (n < max &&
	       (len = cmdline_next(&pos, WORD_KEY, word, sizeof(word))) >= 0) {
		if (len >= (long)sizeof(word))
			why = "too long";
		else if (virtio_mmio_parse(word, &out[n], &why))
			;
		else if (known(out, n, out[n].base))
			why = "named twice";
		else {
			n++;
			continue;
		}
		blk_broken("cmdline", "virtio-mmio", "%s=%s: %s", WORD_KEY,
			   word, why);
	}
	return n;
}

static unsigned from_acpi(struct virtio_mmio_loc *out, unsigned n,
			  unsigned max)
{
	struct acpi_dev dev[VIRTIO_MMIO_MAX];
	if (!acpi.dsdt)
		return n;
	unsigned found = acpi_dev_find(acpi.dsdt, acpi.dsdt_len, ACPI_HID,
				       dev, VIRTIO_MMIO_MAX);
	for (unsigned i = 0; i < found && n < max; i++) {
		if (known(out, n, dev[i].base))
			continue;
		out[n++] = (struct virtio_mmio_loc){ dev[i].base, dev[i].len,
						     dev[i].irq,
						     dev[i].has_irq, "ACPI" };
	}
	return n;
}

/* Only on a machine with no other description and no PCI: reading these
 * addresses anywhere else could touch another device. */
static unsigned from_window(struct virtio_mmio_loc *out, unsigned max)
{
	unsigned n = 0;
	if (paging_map_mmio(MICROVM_BASE, MICROVM_SLOTS * MICROVM_STRIDE))
		return 0;
	for (int slot = MICROVM_SLOTS - 1; slot >= 0 && n < max; slot--) {
		uint64_t base = MICROVM_BASE + (uint64_t)slot * MICROVM_STRIDE;
		volatile void *r = (volatile void *)(uintptr_t)base;
		if (mmio_read32(r, R_MAGIC) != MAGIC ||
		    !mmio_read32(r, R_DEVICE_ID))
			continue;
		out[n++] = (struct virtio_mmio_loc){ base, MICROVM_STRIDE, 0, 0,
						     "microvm window" };
	}
	return n;
}

unsigned virtio_mmio_find(struct virtio_mmio_loc *out, unsigned max,
			  int have_pci)
{
	unsigned n = from_cmdline(out, max);
	n = from_acpi(out, n, max);
	if (!n && !have_pci && !runtime_is_ram(MICROVM_BASE, MICROVM_STRIDE))
		n = from_window(out, max);
	return n;
}
