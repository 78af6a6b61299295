/* Little-endian byte accessors for tables and DMA structures, and MMIO
 * register access, for runtime/ and drivers/. Byte accessors work at any
 * alignment (firmware tables are packed); MMIO accessors are volatile and
 * of exactly the width named (devices care: a 64-bit register is two
 * 32-bit accesses, low half first, as NVMe §3.1 and virtio §4.1.3.1 ask
 * of drivers that may not do 64-bit MMIO). */
#ifndef UMBRA_LE_H
#define UMBRA_LE_H

#include <stdint.h>

static inline uint16_t le16_get(const void *v)
{
	const uint8_t *p = v;
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t le32_get(const void *v)
{
	const uint8_t *p = v;
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t le64_get(const void *v)
{
	const uint8_t *p = v;
	return (uint64_t)le32_get(p) | (uint64_t)le32_get(p + 4) << 32;
}

static inline void le16_put(void *v, uint16_t x)
{
	uint8_t *p = v;
	p[0] = (uint8_t)x;
	p[1] = (uint8_t)(x >> 8);
}

static inline void le32_put(void *v, uint32_t x)
{
	uint8_t *p = v;
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(x >> (8 * i));
}

static inline void le64_put(void *v, uint64_t x)
{
	uint8_t *p = v;
	le32_put(p, (uint32_t)x);
	le32_put(p + 4, (uint32_t)(x >> 32));
}

/* Sum of n bytes modulo 256: 0 for a valid ACPI or SMBIOS structure. */
static inline uint8_t byte_sum(const void *v, uint32_t n)
{
	const uint8_t *p = v;
	uint8_t s = 0;
	for (uint32_t i = 0; i < n; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

static inline uint8_t mmio_read8(volatile void *base, uint32_t off)
{
	return *(volatile uint8_t *)((volatile uint8_t *)base + off);
}

static inline uint16_t mmio_read16(volatile void *base, uint32_t off)
{
	return *(volatile uint16_t *)((volatile uint8_t *)base + off);
}

static inline uint32_t mmio_read32(volatile void *base, uint32_t off)
{
	return *(volatile uint32_t *)((volatile uint8_t *)base + off);
}

static inline uint64_t mmio_read64(volatile void *base, uint32_t off)
{
	return (uint64_t)mmio_read32(base, off) |
	       (uint64_t)mmio_read32(base, off + 4) << 32;
}

static inline void mmio_write8(volatile void *base, uint32_t off, uint8_t v)
{
	*(volatile uint8_t *)((volatile uint8_t *)base + off) = v;
}

static inline void mmio_write16(volatile void *base, uint32_t off, uint16_t v)
{
	*(volatile uint16_t *)((volatile uint8_t *)base + off) = v;
}

static inline void mmio_write32(volatile void *base, uint32_t off, uint32_t v)
{
	*(volatile uint32_t *)((volatile uint8_t *)base + off) = v;
}

static inline void mmio_write64(volatile void *base, uint32_t off, uint64_t v)
{
	mmio_write32(base, off, (uint32_t)v);
	mmio_write32(base, off + 4, (uint32_t)(v >> 32));
}

#endif
