/* The screen and keyboards; see screen.h. The screen console itself is
 * runtime's (fbcon.h); the drivers feed it; this file only finds them
 * and reports. */
#include "screen.h"

#include <stdlib.h>
#include <string.h>

#include "../drivers/ps2/i8042.h"
#include "../drivers/virtio/virtio_gpu.h"
#include "../drivers/virtio/virtio_input.h"
#include "../drivers/virtio/virtio_mmio.h"
#include "../drivers/virtio/virtio_pci.h"
#include "../runtime/console.h"
#include "../runtime/fbcon.h"
#include "../runtime/fmt.h"
#include "../runtime/font.h"
#include "../runtime/pci.h"
#include "../runtime/time.h"
#include "shell.h"
#include "storage.h"

#define LINES_MAX 1000000

static const char *ps2_why;
static char gpu_why[160] = "no virtio-gpu";

/* A virtio-gpu only where nothing draws yet (the GOP wins). */
static int attach(struct virtio_dev *d, const char **why)
{
	struct fbcon_info fi;
	fbcon_info(&fi);
	if (d->type == VIRTIO_TYPE_INPUT)
		return vinput_attach(d, why);
	if (fi.driver) {
		*why = "not used: the GOP draws the screen";
		return VIRTIO_ERR_NODEV;
	}
	return vgpu_attach(d, why);
}

/* A device that could not be used is reported (a second input device
 * that is no keyboard is not news). */
static void report(const char *where, int type, int err, const char *why)
{
	if (!err || (err == VIRTIO_ERR_NODEV && type == VIRTIO_TYPE_INPUT))
		return;
	if (type == VIRTIO_TYPE_GPU)
		fmt_snprintf(gpu_why, sizeof(gpu_why), "virtio-gpu %s: %s",
			     where, why);
	con_printf("screen: %s %s: %s (ignored)\n", where,
		   type == VIRTIO_TYPE_GPU ? "virtio-gpu" : "virtio-input", why);
}

static void probe_pci(void)
{
	for (unsigned i = 0; i < pci_count(); i++) {
		struct pci_dev *p = pci_get(i);
		int type = virtio_pci_type(p);
		if (type != VIRTIO_TYPE_GPU && type != VIRTIO_TYPE_INPUT)
			continue;
		const char *why;
		char where[8];
		int err = virtio_pci_drive(p, attach, &why);
		pci_where(p, where);
		report(where, type, err, why);
	}
}

static void probe_mmio(void)
{
	const struct storage_mmio *m;
	for (unsigned i = 0; (m = storage_mmio_get(i)); i++) {
		if (m->type != VIRTIO_TYPE_GPU && m->type != VIRTIO_TYPE_INPUT)
			continue;
		struct virtio_dev *v = calloc(1, sizeof(*v));
		const char *why = "out of memory";
		int err = v ? virtio_mmio_attach(&m->loc, v, &why)
			    : VIRTIO_ERR_NOMEM;
		if (!err)
			err = attach(v, &why);
		char where[20];
		fmt_snprintf(where, sizeof(where), "0x%llx",
			     (unsigned long long)m->loc.base);
		report(where, m->type, err, why);
		storage_mmio_set_state(i, err ? why : m->type == VIRTIO_TYPE_GPU
				       ? "screen" : "keyboard");
		if (err && err != VIRTIO_ERR_RESET && v) {
			virtio_mmio_release(v);
			free(v);
		}
	}
}

void screen_probe(void)
{
	if (i8042_probe(&ps2_why))
		;	/* no PS/2 keyboard: listed by `screen`, not news */
	probe_pci();
	probe_mmio();
}

static void list_keyboards(void)
{
	unsigned n = 0;
	for (const struct con_source *s; (s = con_source_get(n)); n++)
		;
	if (!ps2_why)
		con_printf("keyboard: PS/2 (i8042, %s)\n", i8042_describe());
	for (unsigned i = 0; vinput_describe(i); i++)
		con_printf("keyboard: %s\n", vinput_describe(i));
	if (!n)
		con_printf("keyboard: none (%s; no virtio keyboard)\n", ps2_why);
}

/* `screen lines N`: N numbered lines, then how long they took. */
static int lines(char *arg)
{
	unsigned long long n;
	if (shell_parse_u64(arg, &n) || !n || n > LINES_MAX)
		return shell_err("screen", SHELL_USAGE, "usage: screen lines N "
				 "(1 to %u)", LINES_MAX);
	struct fbcon_info a, b;
	fbcon_info(&a);
	uint64_t t0 = time_us();
	for (unsigned long long i = 1; i <= n; i++)
		con_printf("line %llu of %llu: the quick brown fox jumps over "
			   "the lazy dog\n", i, n);
	con_flush();
	uint64_t us = time_us() - t0;
	fbcon_info(&b);
	con_printf("screen: %llu lines in %llu us (%llu draws, %llu glyphs, "
		   "%llu us drawing)\n", n, (unsigned long long)us,
		   (unsigned long long)(b.draws - a.draws),
		   (unsigned long long)(b.cells - a.cells),
		   (unsigned long long)(b.draw_us - a.draw_us));
	return 0;
}

static int cmd_screen(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "lines"))
		return lines(argv[2]);
	if (argc != 1)
		return shell_err(argv[0], SHELL_USAGE, "usage: screen "
				 "[lines N]");
	struct fbcon_info fi;
	fbcon_info(&fi);
	const struct font *f = &font_console;
	if (!fi.driver) {
		con_printf("screen: none (%s; %s)\n", fi.state ? fi.state
			   : "no GOP", gpu_why);
	} else {
		if (vgpu_describe() && fi.driver[0] == 'v')
			con_printf("screen: %s\n", vgpu_describe());
		else
			con_printf("screen: GOP mode %u, framebuffer at 0x%llx\n",
				   fi.fb.mode, (unsigned long long)fi.fb.base);
		con_printf("screen: %ux%u, %ux%u text in %s (%ux%u); %s\n",
			   fi.fb.width, fi.fb.height, fi.cols, fi.rows, f->name,
			   f->width, f->height, fi.state);
		con_printf("screen: %llu draws, %llu glyphs, %llu us drawing\n",
			   (unsigned long long)fi.draws,
			   (unsigned long long)fi.cells,
			   (unsigned long long)fi.draw_us);
	}
	list_keyboards();
	return 0;
}

const struct shell_cmd shell_screen_cmds[] = {
	{ "screen", "[lines N]", "the screen and keyboards; lines N prints "
	  "N lines and times them", cmd_screen },
	{ 0, 0, 0, 0 },
};
