/* Cloud instance configuration on the host, under ASan and UBSan: SMBIOS
 * tables (runtime/smbios.c) built here, well-formed and hostile; which
 * cloud each set of values names (app/cloud/cloud_id.c, ds-identify's
 * rules) and which it must not; base64 (b64.c), one string out of JSON
 * (jstr.c) and HTTP responses fed in every split (hresp.c), each against
 * hostile input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../app/cloud/b64.h"
#include "../../app/cloud/cloud_id.h"
#include "../../app/cloud/hresp.h"
#include "../../app/cloud/jstr.h"
#include "../../runtime/smbios.h"
#include "check.h"

/* --- SMBIOS ------------------------------------------------------------- */

static uint8_t table[4096];
static size_t tlen;

static void add(const uint8_t *formatted, size_t n, const char *const *strs)
{
	memcpy(table + tlen, formatted, n);
	tlen += n;
	if (!strs || !strs[0]) {
		table[tlen++] = 0;
		table[tlen++] = 0;
		return;
	}
	for (; *strs; strs++) {
		size_t k = strlen(*strs) + 1;
		memcpy(table + tlen, *strs, k);
		tlen += k;
	}
	table[tlen++] = 0;
}

/* A 64-bit entry point (DSP0134 §5.2.2) for a copy of table[0..len) in
 * a heap block of exactly len bytes (ASan sees a read past it). */
static void install(size_t len)
{
	static uint8_t ep[24];
	static uint8_t *copy;
	free(copy);
	copy = malloc(len ? len : 1);
	memcpy(copy, table, len);
	memset(ep, 0, sizeof(ep));
	memcpy(ep, "_SM3_", 5);
	ep[6] = 24;
	ep[7] = 3;
	uint32_t l = (uint32_t)len;
	memcpy(ep + 12, &l, 4);
	uint64_t a = (uint64_t)(uintptr_t)copy;
	memcpy(ep + 16, &a, 8);
	uint8_t sum = 0;
	for (int i = 0; i < 24; i++)
		sum = (uint8_t)(sum + ep[i]);
	ep[5] = (uint8_t)-sum;
	smbios_init((uint64_t)(uintptr_t)ep, 0);
}

static void build_table(void)
{
	static const char *const t1s[] = { "Google", "Google Compute Engine ",
					   "x", "GoogleCloud-ABC", 0 };
	uint8_t t1[27] = { 1, 27, 0, 1, 1, 2, 3, 4,
			   0x16, 0x19, 0x2e, 0xec, 1, 2, 3, 4, 5, 6, 7, 8, 9,
			   10, 11, 12, 6, 0, 0 };
	static const char *const t3s[] = { "QEMU", "OracleCloud.com", 0 };
	uint8_t t3[9] = { 3, 9, 1, 0, 1, 1, 0, 0, 2 };
	static const char *const t11s[] = { "umbra.cmdline=echo hi", 0 };
	uint8_t t11[5] = { 11, 5, 2, 0, 1 };
	uint8_t t2[9] = { 2, 9, 3, 0, 0, 0, 0, 0, 0 };	/* no asset tag */
	uint8_t end[4] = { 127, 4, 4, 0 };
	tlen = 0;
	add(t1, sizeof(t1), t1s);
	add(t2, sizeof(t2), 0);
	add(t3, sizeof(t3), t3s);
	add(t11, sizeof(t11), t11s);
	add(end, sizeof(end), 0);
}

static void test_smbios(void)
{
	char b[64];
	uint8_t u[16];
	build_table();
	install(tlen);
	CHECK_INT(smbios_string(1, 4, b, sizeof(b)), 6);
	CHECK_STR(b, "Google");
	CHECK_INT(smbios_string(1, 5, b, sizeof(b)), 21);	/* blank gone */
	CHECK_STR(b, "Google Compute Engine");
	CHECK_INT(smbios_string(1, 7, b, sizeof(b)), 15);
	CHECK_STR(b, "GoogleCloud-ABC");
	CHECK_INT(smbios_string(1, 5, b, 7), 21);	/* cut, told whole */
	CHECK_STR(b, "Google");
	CHECK_INT(smbios_string(3, 8, b, sizeof(b)), 15);
	CHECK_STR(b, "OracleCloud.com");
	CHECK_INT(smbios_string(2, 8, b, sizeof(b)), -1);	/* index 0 */
	CHECK_INT(smbios_string(3, 40, b, sizeof(b)), -1);	/* past len */
	CHECK_INT(smbios_string(4, 4, b, sizeof(b)), -1);	/* no type 4 */
	CHECK_INT(smbios_string(1, 26, b, sizeof(b)), -1);	/* string 0 */
	CHECK_INT(smbios_uuid(u), 0);
	CHECK(u[0] == 0x16 && u[3] == 0xec && u[15] == 12);
	CHECK_INT(smbios_oem_value("umbra.cmdline", b, sizeof(b)), 7);
	CHECK_STR(b, "echo hi");
	/* a string index past the set */
	table[4] = 9;
	install(tlen);
	CHECK_INT(smbios_string(1, 4, b, sizeof(b)), -1);
	table[4] = 1;
	/* the table cut anywhere: no read past it, no crash */
	int bad = 0;
	for (size_t cut = 0; cut < tlen; cut++) {
		install(cut);
		long n = smbios_string(3, 8, b, sizeof(b));
		if (n > (long)cut)
			bad++;
		smbios_uuid(u);
		smbios_oem_value("umbra.cmdline", b, sizeof(b));
	}
	CHECK_INT(bad, 0);
	/* lengths that lie: a structure shorter than its header, one past
	 * the table, a string set without its double NUL */
	build_table();
	table[1] = 3;
	install(tlen);
	CHECK_INT(smbios_string(1, 4, b, sizeof(b)), -1);
	build_table();
	table[1] = 250;
	install(tlen);
	CHECK_INT(smbios_string(3, 8, b, sizeof(b)), -1);
	build_table();
	install(27 + 8);	/* inside type 1's strings */
	CHECK_INT(smbios_string(1, 4, b, sizeof(b)), -1);
	CHECK_INT(smbios_uuid(u), -1);
	/* a type 1 too short for its UUID (SMBIOS 2.0) */
	build_table();
	table[1] = 8;
	memmove(table + 8, table + 27, tlen - 27);
	tlen -= 19;
	install(tlen);
	CHECK_INT(smbios_uuid(u), -1);
	CHECK_INT(smbios_string(1, 5, b, sizeof(b)), 21);
	/* random tables: never a crash */
	srand(3);
	for (int i = 0; i < 3000; i++) {
		size_t n = (size_t)rand() % 200;
		for (size_t k = 0; k < n; k++)
			table[k] = (uint8_t)(rand() % 3 ? rand() % 12 : rand());
		install(n);
		smbios_string((unsigned)(rand() % 4), (unsigned)(rand() % 30),
			      b, sizeof(b));
		smbios_uuid(u);
		smbios_oem_value("umbra.cmdline", b, sizeof(b));
	}
	smbios_init(0, 0);
	CHECK_INT(smbios_string(1, 4, b, sizeof(b)), -1);
}

/* --- which cloud -------------------------------------------------------- */

static enum cloud_kind id(const char *vendor, const char *product,
			  const char *serial, const char *chassis,
			  const char *board, const uint8_t *uuid, char *why)
{
	struct cloud_dmi d;
	memset(&d, 0, sizeof(d));
	strcpy(d.vendor, vendor);
	strcpy(d.product, product);
	strcpy(d.serial, serial);
	strcpy(d.chassis_tag, chassis);
	strcpy(d.board_tag, board);
	if (uuid) {
		memcpy(d.uuid, uuid, 16);
		d.has_uuid = 1;
	}
	return cloud_identify(&d, why, 200);
}

static void test_identify(void)
{
	char why[200];
	static const uint8_t ec2[16] = { 0x16, 0x19, 0x2e, 0xec };
	static const uint8_t ec2_swapped[16] = { 0xec, 0x2a, 0xe1, 0x45 };
	static const uint8_t other[16] = { 0x16, 0x19, 0x2e, 0xed };
	static const uint8_t near[16] = { 0x16, 0x19, 0x3e, 0xec };
	CHECK_INT(id("Google", "Google Compute Engine", "", "", "", 0, why),
		  CLOUD_GCE);
	CHECK_STR(why, "SMBIOS type 1 product \"Google Compute Engine\"");
	CHECK_INT(id("", "", "GoogleCloud-1234", "", "", 0, why), CLOUD_GCE);
	CHECK_STR(why, "SMBIOS type 1 serial \"GoogleCloud-1234\"");
	CHECK_INT(id("Xen", "HVM domU", "", "", "", ec2, why), CLOUD_AWS);
	CHECK_STR(why, "SMBIOS type 1 UUID ec2e1916-... (begins ec2)");
	CHECK_INT(id("", "", "", "", "", ec2_swapped, why), CLOUD_AWS);
	CHECK_INT(id("Amazon EC2", "m5.large", "", "", "", 0, why),
		  CLOUD_AWS);
	CHECK_STR(why, "SMBIOS type 1 manufacturer \"Amazon EC2\"");
	CHECK_INT(id("", "", "", "", "", other, why), CLOUD_NONE);
	CHECK_INT(id("", "", "", "", "", near, why), CLOUD_NONE);
	CHECK_INT(id("OpenStack Foundation", "OpenStack Nova", "", "", "", 0,
		     why), CLOUD_OPENSTACK);
	CHECK_INT(id("RDO", "OpenStack Compute", "", "", "", 0, why),
		  CLOUD_OPENSTACK);
	CHECK_INT(id("DigitalOcean", "Droplet", "", "", "", 0, why),
		  CLOUD_DIGITALOCEAN);
	CHECK_INT(id("Hetzner", "vServer", "", "", "", 0, why),
		  CLOUD_HETZNER);
	CHECK_INT(id("QEMU", "Standard PC", "", "OracleCloud.com", "", 0, why),
		  CLOUD_ORACLE);
	CHECK_STR(why, "SMBIOS type 3 asset tag \"OracleCloud.com\"");
	CHECK_INT(id("Microsoft Corporation", "Virtual Machine", "",
		     "7783-7084-3265-9085-8269-3286-77", "", 0, why),
		  CLOUD_AZURE);
	CHECK_INT(id("", "", "", "", "7783-7084-3265-9085-8269-3286-77", 0,
		     why), CLOUD_AZURE);
	CHECK_STR(why, "SMBIOS type 2 asset tag "
		  "\"7783-7084-3265-9085-8269-3286-77\"");
	/* what plain QEMU says, and near misses: none */
	CHECK_INT(id("QEMU", "Standard PC (Q35 + ICH9, 2009)", "", "", "", 0,
		     why), CLOUD_NONE);
	CHECK_STR(why, "");
	CHECK_INT(id("", "Google Compute Engine 2", "", "", "", 0, why),
		  CLOUD_NONE);
	CHECK_INT(id("", "", "googlecloud-1", "", "", 0, why), CLOUD_NONE);
	CHECK_INT(id("hetzner", "", "", "", "", 0, why), CLOUD_NONE);
	CHECK_INT(id("", "OpenStack", "", "", "", 0, why), CLOUD_NONE);
	CHECK_INT(id("", "", "", "OracleCloud.co", "", 0, why), CLOUD_NONE);
	CHECK_INT(id("", "", "", "", "", 0, 0), CLOUD_NONE);
	CHECK_STR(cloud_name(CLOUD_HETZNER), "Hetzner");
	CHECK_STR(cloud_name((enum cloud_kind)99), "?");
}

/* --- base64 ------------------------------------------------------------- */

static long dec(const char *s, char *out)
{
	long n = b64_decode(s, strlen(s), (unsigned char *)out);
	if (n >= 0)
		out[n] = 0;
	return n;
}

static void test_b64(void)
{
	char o[256];
	/* RFC 4648 §10 */
	static const char *const v[][2] = {
		{ "", "" }, { "Zg==", "f" }, { "Zm8=", "fo" }, { "Zm9v", "foo" },
		{ "Zm9vYg==", "foob" }, { "Zm9vYmE=", "fooba" },
		{ "Zm9vYmFy", "foobar" },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		CHECK_INT(dec(v[i][0], o), (long)strlen(v[i][1]));
		CHECK_STR(o, v[i][1]);
	}
	CHECK_INT(dec("ZWNobyBoaQ==\n", o), 7);
	CHECK_STR(o, "echo hi");
	CHECK_INT(dec("ZWNo\r\nbyBo aQ", o), 7);	/* lines, blanks */
	CHECK_STR(o, "echo hi");
	CHECK_INT(dec("Zm9v!", o), B64_ERR_CHAR);
	CHECK_INT(dec("Zm9v-_", o), B64_ERR_CHAR);	/* url alphabet */
	CHECK_INT(dec("Z", o), B64_ERR_PAD);
	CHECK_INT(dec("Zm9vY", o), B64_ERR_PAD);
	CHECK_INT(dec("Zg=", o), B64_ERR_PAD);
	CHECK_INT(dec("Zg===", o), B64_ERR_PAD);
	CHECK_INT(dec("=Zg=", o), B64_ERR_PAD);
	CHECK_INT(dec("Zg==Zg==", o), B64_ERR_PAD);
	CHECK_INT(dec("Zm8=x", o), B64_ERR_PAD);
	CHECK_INT(dec("Zg", o), 1);	/* unpadded ends are taken */
	/* in place */
	char in[] = "dW1icmEgc2NyaXB0";
	CHECK_INT(b64_decode(in, strlen(in), (unsigned char *)in), 12);
	CHECK(!memcmp(in, "umbra script", 12));
	/* every 1..3-character string: a length within bounds or an
	 * error */
	char s[4];
	int bad = 0;
	static const char set[] = "AZaz09+/= \n!";
	for (size_t a = 0; a < sizeof(set) - 1; a++)
		for (size_t b = 0; b < sizeof(set) - 1; b++)
			for (size_t c = 0; c < sizeof(set) - 1; c++) {
				s[0] = set[a], s[1] = set[b], s[2] = set[c];
				s[3] = 0;
				if (dec(s, o) > 2)
					bad++;
			}
	CHECK_INT(bad, 0);
}

/* --- JSON --------------------------------------------------------------- */

static long get(const char *js, const char *path, char *out, size_t cap)
{
	size_t n = strlen(js);
	char *copy = malloc(n ? n : 1);	/* exactly n bytes: ASan */
	memcpy(copy, js, n);
	long k = jstr_get(copy, n, path, out, cap);
	free(copy);
	return k;
}

static void test_jstr(void)
{
	char o[128];
	static const char oracle[] =
		"{\"availabilityDomain\": \"x:PHX-AD-1\", \"id\": "
		"\"ocid1.instance.oc1\", \"metadata\": {\"ssh_authorized_keys\""
		": \"ssh-rsa A\", \"user_data\": \"ZWNobyBoaQ==\"}, \"regionInfo"
		"\": {\"realmKey\": \"oc1\"}, \"shapeConfig\": {\"ocpus\": 1.0,"
		" \"memoryInGBs\": 16.0, \"x\": [1, {\"id\": \"no\"}, null, "
		"true]}}";
	CHECK_INT(get(oracle, "metadata.user_data", o, sizeof(o)), 12);
	CHECK_STR(o, "ZWNobyBoaQ==");
	CHECK_INT(get(oracle, "id", o, sizeof(o)), 18);
	CHECK_STR(o, "ocid1.instance.oc1");
	CHECK_INT(get(oracle, "user_data", o, sizeof(o)), JSTR_ERR_NOT_FOUND);
	CHECK_INT(get(oracle, "metadata", o, sizeof(o)), JSTR_ERR_NOT_FOUND);
	CHECK_INT(get(oracle, "shapeConfig.ocpus", o, sizeof(o)),
		  JSTR_ERR_NOT_FOUND);
	CHECK_INT(get(oracle, "id", o, 5), JSTR_ERR_TOO_LONG);
	/* escapes, \/ included (base64 has slashes) */
	CHECK_INT(get("{\"u\": \"a\\/b\\\"c\\\\d\\n\\u00e9\\ud83d\\ude00\"}",
		      "u", o, sizeof(o)), 14);
	CHECK(!memcmp(o, "a/b\"c\\d\n\xc3\xa9\xf0\x9f\x98\x80", 15));
	CHECK_INT(get("{\"uuid\":\"d8e02d56-2648-49a3\"}", "uuid", o,
		      sizeof(o)), 18);
	/* malformed */
	static const char *const bad[] = {
		"", "[]", "\"x\"", "{", "{\"u\"", "{\"u\":", "{\"u\": \"x",
		"{\"u\": \"x\\q\"}", "{\"u\": \"\\u12\"}", "{\"u\": \"\\udc00\"}",
		"{\"u\": \"\\ud800x\"}", "{\"u\": \"a\nb\"}", "{\"u\" \"x\"}",
		"{\"a\": 1 \"u\": \"x\"}", "{u: \"x\"}", "{\"a\": [1, 2}",
		"{\"a\": @, \"u\": \"x\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(get(bad[i], "u", o, sizeof(o)) < 0);
	/* deep nesting is refused, not recursed without end */
	char deep[4096];
	size_t n = 0;
	n += (size_t)sprintf(deep, "{\"a\": ");
	for (int i = 0; i < 1000; i++)
		deep[n++] = '[';
	deep[n] = 0;
	CHECK_INT(get(deep, "u", o, sizeof(o)), JSTR_ERR_DEPTH);
	/* random texts: never a crash, results within bounds */
	srand(8259);
	int badlen = 0;
	for (int i = 0; i < 20000; i++) {
		char t[64];
		static const char alpha[] = "{}[]\":,\\u ud80ab01 \"ntx";
		size_t k = (size_t)rand() % sizeof(t);
		for (size_t j = 0; j < k; j++)
			t[j] = alpha[rand() % (int)(sizeof(alpha) - 1)];
		t[0] = '{';
		t[k ? k : 1] = 0;
		long got = get(t, "u", o, 16);
		if (got > 15)
			badlen++;
	}
	CHECK_INT(badlen, 0);
}

/* --- HTTP responses ----------------------------------------------------- */

/* Feeds s in pieces of `step` bytes; the final result. */
static int feed(struct hresp *r, const char *s, size_t n, size_t step,
		int eof)
{
	int st = HRESP_MORE;
	for (size_t i = 0; i < n && st == HRESP_MORE; i += step) {
		size_t k = n - i < step ? n - i : step;
		char *piece = malloc(k);	/* exactly k: ASan */
		memcpy(piece, s + i, k);
		st = hresp_feed(r, piece, k);
		free(piece);
	}
	if (st == HRESP_MORE && eof)
		st = hresp_eof(r);
	return st;
}

static int resp(const char *s, size_t max, int eof, size_t step,
		struct hresp *r)
{
	hresp_init(r, max, 0);
	return feed(r, s, strlen(s), step, eof);
}

static void test_hresp(void)
{
	struct hresp r;
	char v[64];
	static const char *const good[] = {
		"HTTP/1.1 200 OK\r\nContent-Length: 7\r\nX: y\r\n\r\necho hi",
		"HTTP/1.1 200 OK\nContent-Length: 7\n\necho hiEXTRA",
		("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		 "4;x=1\r\necho\r\n3\r\n hi\r\n0\r\nT: x\r\n\r\n"),
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\n\r\necho hi",
		"HTTP/1.1 200\r\ncontent-length:   7  \r\n\r\necho hi",
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		for (size_t step = 1; step <= strlen(good[i]); step++) {
			int st = resp(good[i], 100, 1, step, &r);
			CHECK_INT(st, HRESP_DONE);
			CHECK_INT(r.status, 200);
			CHECK_INT(r.body_len, 7);
			CHECK(r.body && !strcmp(r.body, "echo hi"));
			hresp_free(&r);
		}
	CHECK_INT(resp(good[0], 100, 0, 5, &r), HRESP_DONE);
	CHECK_STR(hresp_field(&r, "x", v, sizeof(v)), "y");
	CHECK(!hresp_field(&r, "Location", v, sizeof(v)));
	hresp_free(&r);
	/* statuses without a body, and a redirect's */
	CHECK_INT(resp("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
		       100, 0, 3, &r), HRESP_DONE);
	CHECK_INT(r.status, 404);
	hresp_free(&r);
	CHECK_INT(resp("HTTP/1.1 204 No Content\r\n\r\n", 100, 0, 1, &r),
		  HRESP_DONE);
	hresp_free(&r);
	CHECK_INT(resp("HTTP/1.1 301 Moved\r\nLocation: http://x/\r\n"
		       "Content-Length: 3\r\n\r\nabc", 100, 0, 1, &r),
		  HRESP_DONE);
	CHECK_INT(r.status, 301);
	CHECK_STR(hresp_field(&r, "location", v, sizeof(v)), "http://x/");
	hresp_free(&r);
	/* limits */
	CHECK_INT(resp("HTTP/1.1 200 OK\r\nContent-Length: 101\r\n\r\n", 100,
		       0, 1, &r), HRESP_ERR_TOO_BIG);
	hresp_free(&r);
	CHECK_INT(resp("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999"
		       "999\r\n\r\n", 100, 0, 1, &r), HRESP_ERR_FRAMING);
	hresp_free(&r);
	char *endless = malloc(300);
	strcpy(endless, "HTTP/1.1 200 OK\r\n\r\n");
	memset(endless + 19, 'x', 200);
	endless[219] = 0;
	CHECK_INT(resp(endless, 100, 0, 7, &r), HRESP_ERR_TOO_BIG);
	CHECK_INT(r.body_len <= 100, 1);
	hresp_free(&r);
	CHECK_INT(resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		       "65\r\n", 100, 0, 1, &r), HRESP_ERR_TOO_BIG);
	hresp_free(&r);
	char *head = malloc(HRESP_HEAD_MAX + 64);
	strcpy(head, "HTTP/1.1 200 OK\r\n");
	for (size_t i = 17; i < HRESP_HEAD_MAX + 40; i++)
		head[i] = i % 30 == 29 ? '\n' : 'h';
	head[HRESP_HEAD_MAX + 40] = 0;
	CHECK_INT(resp(head, 100, 0, 64, &r), HRESP_ERR_HEAD_SIZE);
	hresp_free(&r);
	free(head);
	/* close-delimited, and cut short */
	CHECK_INT(resp("HTTP/1.0 200 OK\r\n\r\nabc", 100, 1, 2, &r),
		  HRESP_DONE);
	CHECK_INT(r.body_len, 3);
	hresp_free(&r);
	CHECK_INT(resp("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc", 100,
		       1, 2, &r), HRESP_ERR_TRUNCATED);
	hresp_free(&r);
	CHECK_INT(resp("HTTP/1.1 200 OK\r\nContent", 100, 1, 2, &r),
		  HRESP_ERR_TRUNCATED);
	hresp_free(&r);
	CHECK_INT(resp("", 100, 1, 2, &r), HRESP_ERR_TRUNCATED);
	hresp_free(&r);
	/* malformed */
	static const char *const bad[] = {
		"HTTP/2 200 OK\r\n\r\n", "HTTP/1.1 20 OK\r\n\r\n",
		"HTTP/1.1 2000 OK\r\n\r\n", "ICY 200 OK\r\n\r\n",
		"HTTP/1.1 099 x\r\n\r\n", "\r\nHTTP/1.1 200 OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"HTTP/1.1 101 Switching\r\n\r\n",
		("HTTP/1.1 100 a\r\n\r\nHTTP/1.1 100 a\r\n\r\nHTTP/1.1 100 a\r\n"
		 "\r\nHTTP/1.1 100 a\r\n\r\nHTTP/1.1 100 a\r\n\r\n"),
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int st = resp(bad[i], 100, 1, 1, &r);
		CHECK(st < 0);
		CHECK_INT(hresp_feed(&r, "x", 1), st);	/* stays failed */
		hresp_free(&r);
	}
	/* random bytes after a plausible start: never a crash */
	srand(9112);
	for (int i = 0; i < 5000; i++) {
		char t[200];
		static const char alpha[] = "HTP/1. 20\r\n:C-LengthcunkedT0a;";
		int k = snprintf(t, sizeof(t), "HTTP/1.1 200 OK\r\n");
		size_t n = (size_t)k + (size_t)rand() % (sizeof(t) - 1 - k);
		for (size_t j = (size_t)k; j < n; j++)
			t[j] = alpha[rand() % (int)(sizeof(alpha) - 1)];
		t[n] = 0;
		int st = resp(t, 64, rand() % 2, 1 + (size_t)rand() % 9, &r);
		if (st == HRESP_DONE && r.body_len > 64)
			check_fail++;
		hresp_free(&r);
	}
	free(endless);
}

int main(int argc, char **argv)
{
	check_args(argc, argv);
	RUN(test_smbios);
	RUN(test_identify);
	RUN(test_b64);
	RUN(test_jstr);
	RUN(test_hresp);
	return check_done();
}
