/* runtime/pci.h for host tests: PCI functions whose configuration space is
 * an array and whose memory BARs are test memory between two guard areas
 * of known bytes, so a test can tell whether a driver wrote outside a BAR.
 * A device model can run on a thread of its own (fakepci_run), watching
 * the BAR memory as a device would see the driver's writes. */
#ifndef UMBRA_FAKEPCI_H
#define UMBRA_FAKEPCI_H

#include <pthread.h>
#include <stdint.h>

#include "../../runtime/pci.h"

#define FAKEPCI_GUARD 4096u	/* bytes of guard on each side of a BAR */
#define FAKEPCI_GUARD_BYTE 0xa5

struct fakepci {
	struct pci_dev pci;	/* first: what the driver is given */
	uint32_t magic;
	uint8_t cfg[4096];
	uint8_t cap_next;	/* where the next capability goes */
	uint8_t cap_last;	/* the last one added (0: none) */
	uint8_t *map[6];	/* guard, BAR, guard */
	/* the device model's thread */
	pthread_t thread;
	int (*step)(void *ctx);
	void *ctx;
	volatile int stop, running;
};

/* A function at bus 0 device `slot` with these ids and class; no BARs,
 * no capabilities. */
void fakepci_init(struct fakepci *f, uint8_t slot, uint16_t vendor,
		  uint16_t device, uint8_t cls, uint8_t subcls, uint8_t progif);

/* Memory BAR i of `size` bytes (a multiple of 4096), zeroed, between
 * guards; returns it. */
volatile uint8_t *fakepci_bar(struct fakepci *f, int i, uint64_t size);

/* Appends a capability: id, the next pointer, then len - 2 bytes of body.
 * Returns its offset in configuration space. */
uint8_t fakepci_cap(struct fakepci *f, uint8_t id, const uint8_t *body,
		    uint8_t len);

/* 1 when every guard byte around every BAR is as it was set up. */
int fakepci_guards_intact(const struct fakepci *f);

/* Runs step(ctx) on a thread until fakepci_halt; step returns non-zero
 * when it did something (an idle model sleeps a little between steps).
 * 0, or -1 when the thread could not start. */
int fakepci_run(struct fakepci *f, int (*step)(void *ctx), void *ctx);
void fakepci_halt(struct fakepci *f);

/* Stops the model and gives the BAR memory back. */
void fakepci_free(struct fakepci *f);

/* A DMA address the driver gave a device, as the device model reaches it
 * (the host tests' memory is identity-mapped, as umbra's is). */
static inline uint8_t *fakepci_dma(uint64_t addr)
{
	return (uint8_t *)(uintptr_t)addr;
}

/* Microseconds on the host's monotonic clock (not the TSC the code under
 * test reads): for measuring how long a driver took. */
uint64_t fakepci_now_us(void);

#endif
