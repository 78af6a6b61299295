/* Randomness; see random.h. The generator erases its own key as it goes
 * (each block's first half becomes the next key), so a key read later does
 * not reveal earlier outputs. */
#include "random.h"

#include <string.h>

#include "bearssl_block.h"
#include "cpu.h"

#define HW_NONE 0
#define HW_RDRAND 1
#define HW_RDSEED 2
#define JITTER_SAMPLES 256
#define JITTER_CHANGES 16	/* fewer changes between samples: no seed */

static uint32_t key[8];		/* the generator's */
static uint32_t secret[8];	/* random_keyed's, drawn once */
static uint32_t counter[4];
static int seeded, hw, has_seed;
static const char *seed_name = "none";
static const char *added;	/* a device that stirred entropy in */
static char name[40];

/* RFC 8439 §2.3: the block function (BearSSL's constant-time ChaCha20
 * on zeros gives the block as bytes, little-endian words as here); `in`
 * is the block counter and the nonce. */
static void block(const uint32_t k[8], const uint32_t in[4], uint32_t out[16])
{
	memset(out, 0, 64);
	br_chacha20_ct_run(k, in + 1, in[0], out, 64);
}

/* The next block; its first half replaces the key, the second is ours. */
static void next(uint32_t half[8])
{
	uint32_t out[16];
	if (!++counter[0])
		counter[1]++;
	block(key, counter, out);
	memcpy(key, out, 32);
	memcpy(half, out + 8, 32);
	memset(out, 0, sizeof(out));
}

static void mix(const void *buf, size_t n)
{
	const uint8_t *p = buf;
	while (n) {
		uint8_t chunk[32] = { 0 };
		size_t k = n < 32 ? n : 32;
		memcpy(chunk, p, k);
		for (int i = 0; i < 8; i++)
			key[i] ^= (uint32_t)chunk[4 * i] |
				  (uint32_t)chunk[4 * i + 1] << 8 |
				  (uint32_t)chunk[4 * i + 2] << 16 |
				  (uint32_t)chunk[4 * i + 3] << 24;
		uint32_t discard[8];
		next(discard);
		p += k;
		n -= k;
	}
}

/* A word from the CPU's generator (Intel SDM vol. 1 §7.3.17: retry a
 * few times when CF says none was ready). */
static int hw_word(uint64_t *v)
{
	for (int i = 0; i < 32; i++) {
		uint8_t ok;
		if (hw == HW_RDSEED)
			__asm__ volatile("rdseed %0; setc %1"
					 : "=r"(*v), "=qm"(ok));
		else
			__asm__ volatile("rdrand %0; setc %1"
					 : "=r"(*v), "=qm"(ok));
		/* All ones with CF set is the answer of AMD family 16h
		 * parts whose generator stopped after a suspend (the fix
		 * BearSSL made after 0.6 to its own RDRAND seeder):
		 * no random word. */
		if (ok && *v != ~0ull)
			return 1;
		cpu_pause();
	}
	return 0;
}

static void detect(void)
{
	uint32_t r[4];
	cpu_cpuid(0, 0, r);
	uint32_t max = r[0];
	if (max >= 7) {
		cpu_cpuid(7, 0, r);
		if (r[1] & (1u << 18)) {	/* CPUID.7.0:EBX.RDSEED */
			hw = HW_RDSEED;
			seed_name = "RDSEED";
			return;
		}
	}
	cpu_cpuid(1, 0, r);
	if (r[2] & (1u << 30)) {		/* CPUID.1:ECX.RDRAND */
		hw = HW_RDRAND;
		seed_name = "RDRAND";
	}
}

/* Without a CPU generator: how long CPUID takes varies from call to call
 * (an exit to the hypervisor, or emulation); those variations, many of
 * them, stirred in. They count as a seed only when they vary: a machine
 * whose timings never change (an emulator counting instructions) gives
 * none. QEMU's TCG, whose timings change from one sample to the next
 * 40 to 170 times in 256, gives some. */
static void jitter(void)
{
	uint64_t t[JITTER_SAMPLES];
	for (int i = 0; i < JITTER_SAMPLES; i++) {
		uint32_t r[4];
		uint64_t t0 = cpu_rdtsc();
		cpu_cpuid(0, 0, r);
		t[i] = cpu_rdtsc() - t0 + (t0 << 20);
	}
	mix(t, sizeof(t));
	seed_name = "TSC jitter";
	has_seed = random_jitter_varies(t, JITTER_SAMPLES);
}

int random_jitter_varies(const uint64_t *t, size_t n)
{
	size_t changes = 0;
	for (size_t i = 1; i < n; i++)
		changes += (t[i] & 0xfffff) != (t[i - 1] & 0xfffff);
	return changes >= JITTER_CHANGES;
}

static void seed(void)
{
	seeded = 1;
	detect();
	uint64_t w[4];
	for (int i = 0; i < 4 && hw; i++)
		if (!hw_word(&w[i]))
			hw = HW_NONE;	/* it does not answer: not relied on */
	if (hw) {
		mix(w, sizeof(w));
		has_seed = 1;
	} else {
		jitter();
	}
	next(secret);
}

void random_bytes(void *buf, size_t n)
{
	uint8_t *p = buf;
	if (!seeded)
		seed();
	while (n) {
		uint32_t half[8];
		next(half);
		if (hw) {
			for (int i = 0; i < 8; i += 2) {
				uint64_t v;
				if (hw_word(&v)) {
					half[i] ^= (uint32_t)v;
					half[i + 1] ^= (uint32_t)(v >> 32);
				}
			}
		}
		size_t k = n < 32 ? n : 32;
		memcpy(p, half, k);
		p += k;
		n -= k;
	}
}

uint64_t random_u64(void)
{
	uint64_t v;
	random_bytes(&v, sizeof(v));
	return v;
}

void random_add(const void *buf, size_t n, const char *source)
{
	if (!seeded)
		seed();
	mix(buf, n);
	added = source;
	if (n >= 32)
		has_seed = 1;
}

int random_seeded(void)
{
	if (!seeded)
		seed();
	return has_seed;
}

const char *random_source(void)
{
	if (!seeded)
		seed();
	if (!added)
		return seed_name;
	name[0] = 0;
	size_t a = strlen(seed_name), b = strlen(added);
	if (a + b + 4 < sizeof(name)) {
		memcpy(name, seed_name, a);
		memcpy(name + a, " + ", 3);
		memcpy(name + a + 3, added, b + 1);
	}
	return name;
}

uint32_t random_keyed(const uint32_t in[4])
{
	uint32_t out[16];
	if (!seeded)
		seed();
	block(secret, in, out);
	return out[0];
}
