/* The cloud and its metadata service; see cloud.h. What each cloud
 * asks for is in `specs` below (the paths and fields are those of the
 * clouds' documentation, as cloud-init's datasources use them). */
#include "cloud.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "../../drivers/net.h"
#include "../../runtime/console.h"
#include "../../runtime/fmt.h"
#include "../../runtime/random.h"
#include "../../runtime/smbios.h"
#include "../../runtime/time.h"
#include "../../runtime/timeline.h"
#include "b64.h"
#include "hclient.h"
#include "jstr.h"

#define MD_ADDR "169.254.169.254"
#define MD_PORT 80
#define DHCP_US 5000000ull	/* for a lease */
#define ARP_US 500000ull	/* for the server's own answer to ARP */
#define REQ_US 2000000ull	/* per request */
#define PHASE_US 4000000ull	/* every request together */
#define ID_US 1000000ull	/* the instance id, after the user data */
/* base64 of a full script, and JSON around it */
#define B64_BODY_MAX (USERDATA_MAX / 3 * 4 + 4 + 65536)
#define TOKEN_MAX 256

enum decode { RAW, BASE64, ORACLE_JSON };

struct spec {
	enum cloud_kind kind;
	const char *fields;	/* on every request */
	const char *paths[2];	/* the user data, then a second place */
	enum decode decode;
	const char *id_path;	/* the instance id (text or JSON) */
	const char *id_key;	/* its key when the answer is JSON */
	int imdsv2;		/* AWS: a session token first */
	int link_local;		/* no DHCP: a 169.254/16 address */
};

static const struct spec specs[] = {
	{ CLOUD_GCE, "Metadata-Flavor: Google\r\n",
	  { "/computeMetadata/v1/instance/attributes/user-data",
	    "/computeMetadata/v1/instance/attributes/startup-script" }, RAW,
	  "/computeMetadata/v1/instance/id", 0, 0, 0 },
	{ CLOUD_AWS, 0, { "/latest/user-data", 0 }, RAW,
	  "/latest/meta-data/instance-id", 0, 1, 0 },
	{ CLOUD_OPENSTACK, 0, { "/openstack/latest/user_data", 0 }, RAW,
	  "/openstack/latest/meta_data.json", "uuid", 0, 0 },
	/* DigitalOcean serves droplets' metadata on the link, without DHCP
	 * (cloud-init's DataSourceDigitalOcean: a random 169.254/16). */
	{ CLOUD_DIGITALOCEAN, 0, { "/metadata/v1/user-data", 0 }, RAW,
	  "/metadata/v1/id", 0, 0, 1 },
	{ CLOUD_HETZNER, 0, { "/hetzner/v1/userdata", 0 }, RAW,
	  "/hetzner/v1/metadata/instance-id", 0, 0, 0 },
	{ CLOUD_ORACLE, "Authorization: Bearer Oracle\r\n",
	  { "/opc/v2/instance/", 0 }, ORACLE_JSON, 0, "id", 0, 0 },
	{ CLOUD_AZURE, "Metadata: true\r\n",
	  { "/metadata/instance/compute/userData?api-version=2021-01-01"
	    "&format=text", 0 }, BASE64,
	  "/metadata/instance/compute/vmId?api-version=2021-01-01"
	  "&format=text", 0, 0, 0 },
};

static struct {
	int detected, fetched;
	enum cloud_kind kind;
	const struct spec *sp;
	char why[200];		/* the SMBIOS value that decided it */
	char *data;		/* the user data */
	long len;		/* its length, or -1 */
	char outcome[160];	/* how the metadata service answered */
	char route[96];		/* how its address was reached */
	char id[80];		/* the instance id ("" unknown) */
	char token[TOKEN_MAX];	/* AWS IMDSv2 */
	const char *auth;	/* "" or the token's field */
	uint64_t phase_end;
} cl;

static void read_dmi(struct cloud_dmi *d)
{
	memset(d, 0, sizeof(*d));
	smbios_string(SMBIOS_SYSTEM, SMBIOS_MANUFACTURER, d->vendor,
		      sizeof(d->vendor));
	smbios_string(SMBIOS_SYSTEM, SMBIOS_PRODUCT, d->product,
		      sizeof(d->product));
	smbios_string(SMBIOS_SYSTEM, SMBIOS_SERIAL, d->serial,
		      sizeof(d->serial));
	smbios_string(SMBIOS_BOARD, SMBIOS_ASSET_TAG, d->board_tag,
		      sizeof(d->board_tag));
	smbios_string(SMBIOS_CHASSIS, SMBIOS_ASSET_TAG, d->chassis_tag,
		      sizeof(d->chassis_tag));
	d->has_uuid = !smbios_uuid(d->uuid);
}

enum cloud_kind cloud_detect(void)
{
	if (cl.detected)
		return cl.kind;
	struct cloud_dmi d;
	read_dmi(&d);
	cl.detected = 1;
	cl.len = -1;
	cl.kind = cloud_identify(&d, cl.why, sizeof(cl.why));
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++)
		if (specs[i].kind == cl.kind)
			cl.sp = &specs[i];
	if (!cl.sp) {		/* what SMBIOS said instead */
		fmt_snprintf(cl.why, sizeof(cl.why), "SMBIOS type 1 "
			     "manufacturer \"%s\", product \"%s\"", d.vendor,
			     d.product);
		cl.kind = CLOUD_NONE;
	}
	return cl.kind;
}

/* One line for why the metadata gave no script; kept for `cloud`. */
static long none(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static long none(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fmt_vsnprintf(cl.outcome, sizeof(cl.outcome), fmt, ap);
	va_end(ap);
	con_printf("cloud: %s metadata: %s; going on\n",
		   cloud_name(cl.kind), cl.outcome);
	return -1;
}

/* The first device up: a lease (or, on DigitalOcean, a link-local
 * address). */
static int network_up(void)
{
	struct net_dev *d = inet_dev();
	if (!d)
		return (int)none("no network device umbra drives (virtio-net)");
	int err;
	if (cl.sp->link_local) {	/* 169.254.1.0 - 169.254.168.255 */
		uint64_t r = random_u64();
		uint32_t a;
		uint8_t b[4] = { 169, 254, (uint8_t)(1 + r % 168),
				 (uint8_t)(r >> 8) };
		memcpy(&a, b, 4);
		err = inet_up_static(a, 16, 0, 0);
	} else {
		err = inet_up_dhcp(time_us() + DHCP_US);
	}
	if (err == INET_ERR_TIMEOUT)
		return (int)none("%s: no DHCP lease within %llu s", d->name,
				 DHCP_US / 1000000);
	if (err)
		return (int)none("%s: %s", d->name, inet_strerror(err));
	timeline_mark(TIMELINE_NET);
	return 0;
}

/* lwIP sends to 169.254/16 on the link (it asks ARP for the address
 * itself). A route from DHCP (option 121) is followed as it is; else,
 * when nothing answers ARP for the server, it is reached through the
 * gateway, as Linux reaches it by its default route. */
static int reach(void)
{
	uint32_t md, hop;
	char h[16];
	inet_ip4_parse(MD_ADDR, &md);
	hop = inet_route_hop(md);
	if (hop) {
		inet_ip4_format(hop, h);
		fmt_snprintf(cl.route, sizeof(cl.route), "by DHCP's route "
			     "through %s", h);
		return 0;
	}
	if (!inet_arp(md, time_us() + ARP_US)) {
		fmt_snprintf(cl.route, sizeof(cl.route), "on the link (it "
			     "answered ARP)");
		return 0;
	}
	struct inet_status st;
	inet_status(&st);
	if (!st.gateway)
		return (int)none(MD_ADDR " does not answer ARP and there is "
				 "no gateway");
	inet_route_add(md, 32, st.gateway);
	inet_ip4_format(st.gateway, h);
	fmt_snprintf(cl.route, sizeof(cl.route), "through the gateway %s "
		     "(it did not answer ARP)", h);
	return 0;
}

/* One request to the metadata server, its deadline the request's or the
 * phase's, whichever comes first. */
static int ask(const char *method, const char *path, const char *more,
	       size_t max, uint64_t us, struct hresp *r)
{
	char fields[512];
	fmt_snprintf(fields, sizeof(fields), "%s%s%s",
		     cl.sp->fields ? cl.sp->fields : "", cl.auth ? cl.auth : "",
		     more ? more : "");
	struct hreq q = { method, path, fields, { 0, { 0 } }, MD_PORT, max,
			  time_us() + us };
	uint32_t md;
	inet_ip4_parse(MD_ADDR, &md);
	memcpy(q.addr.b, &md, 4);
	if (q.deadline_us > cl.phase_end)
		q.deadline_us = cl.phase_end;
	return hclient_do(&q, r);
}

/* The words for a request that failed or answered other than 200. */
static long failed(const char *method, const char *path, int err,
		   const struct hresp *r)
{
	if (err == HRESP_ERR_TOO_BIG)
		return none("%s %s: the answer is over 1 MiB", method, path);
	if (err == HCLIENT_ERR_NO_ANSWER)
		return none("%s %s: no answer within %llu s", method, path,
			    REQ_US / 1000000);
	if (err == HCLIENT_ERR_TIMEOUT)
		return none("%s %s: the answer was not complete within %llu s",
			    method, path, REQ_US / 1000000);
	if (err)
		return none("%s %s: %s", method, path, hclient_strerror(err));
	if (r->status >= 300 && r->status < 400)
		return none("%s %s: redirected (%d); umbra does not follow "
			    "redirects", method, path, r->status);
	return none("%s %s: answered %d", method, path, r->status);
}

/* AWS IMDSv2: a session token (1), or 0 when the server does not know
 * the request (then IMDSv1), or -1 (it said why). */
static int aws_token(void)
{
	static const char path[] = "/latest/api/token";
	struct hresp r;
	cl.auth = 0;
	int err = ask("PUT", path, "X-aws-ec2-metadata-token-ttl-seconds: "
		      "21600\r\n", TOKEN_MAX - 1, REQ_US, &r);
	int st = err ? 0 : r.status;
	if (st == 400 || st == 404 || st == 405 || st == 501) {
		hresp_free(&r);
		return 0;
	}
	int ok = st == 200 && r.body_len;
	for (size_t i = 0; ok && i < r.body_len; i++)
		ok = r.body[i] > 0x20 && r.body[i] < 0x7f;
	if (!ok) {
		if (st == 200)
			none("PUT %s: an unusable token", path);
		else
			failed("PUT", path, err, &r);
		hresp_free(&r);
		return -1;
	}
	fmt_snprintf(cl.token, sizeof(cl.token), "X-aws-ec2-metadata-token: "
		     "%s\r\n", r.body);
	cl.auth = cl.token;
	hresp_free(&r);
	return 1;
}

/* GET path; on AWS a refused (401: expired) token is renewed once. */
static int get(const char *path, size_t max, uint64_t us, struct hresp *r)
{
	int err = ask("GET", path, 0, max, us, r);
	if (!err && r->status == 401 && cl.sp->imdsv2 && cl.auth) {
		hresp_free(r);
		int t = aws_token();	/* expired: once more */
		if (!t)
			none("GET %s: the token was refused and no new one "
			     "given", path);
		if (t <= 0)
			return 1;	/* it said why */
		err = ask("GET", path, 0, max, us, r);
	}
	return err;
}

/* An instance id worth printing: printable ASCII that fits, else
 * none. */
static void keep_id(const char *v, size_t n)
{
	cl.id[0] = 0;
	if (!v || !n || n >= sizeof(cl.id))
		return;
	for (size_t i = 0; i < n; i++)
		if (v[i] <= 0x20 || v[i] >= 0x7f)
			return;
	memcpy(cl.id, v, n);
	cl.id[n] = 0;
}

/* The body of the user data as a script, decoded. */
static long decode(struct hresp *r, const char *path)
{
	char *s = r->body;
	long n = (long)r->body_len;
	if (cl.sp->decode == ORACLE_JSON) {
		char *v = malloc(r->body_len + 1);
		long k = v ? jstr_get(s, r->body_len, "metadata.user_data", v,
				      r->body_len + 1) : JSTR_ERR_TOO_LONG;
		char id[sizeof(cl.id)];
		long idn = k >= 0 && cl.sp->id_key ? jstr_get(s, r->body_len,
					cl.sp->id_key, id, sizeof(id)) : -1;
		if (idn > 0)
			keep_id(id, (size_t)idn);
		free(s);
		r->body = s = v;
		if (k == JSTR_ERR_NOT_FOUND)
			return none("GET %s: no metadata.user_data", path);
		if (k < 0)
			return none("GET %s: not the JSON expected", path);
		n = k;
	}
	if (cl.sp->decode != RAW) {
		n = b64_decode(s, (size_t)n, (unsigned char *)s);
		if (n < 0)
			return none("GET %s: the user data is not base64", path);
		s[n] = 0;
	}
	if (n > USERDATA_MAX)
		return none("GET %s: user data over 1 MiB", path);
	if (!n)
		return none("GET %s: empty user data", path);
	return n;
}

/* The instance id, when the metadata has one (no line when not). */
static void instance_id(void)
{
	struct hresp r;
	const char *p = cl.sp->id_path;
	if (!p || cl.id[0])
		return;
	cl.phase_end = time_us() + ID_US;
	if (!ask("GET", p, 0, 65536, ID_US, &r) && r.status == 200 &&
	    r.body) {
		char id[sizeof(cl.id)];
		long n = (long)r.body_len;
		if (cl.sp->id_key)
			n = jstr_get(r.body, r.body_len, cl.sp->id_key, id,
				     sizeof(id));
		keep_id(cl.sp->id_key ? id : r.body, n > 0 ? (size_t)n : 0);
	}
	hresp_free(&r);
}

static long user_data(void)
{
	struct hresp r;
	size_t max = cl.sp->decode == RAW ? USERDATA_MAX : B64_BODY_MAX;
	cl.phase_end = time_us() + PHASE_US;
	if (cl.sp->imdsv2 && aws_token() < 0)
		return -1;
	for (int i = 0; i < 2 && cl.sp->paths[i]; i++) {
		const char *p = cl.sp->paths[i];
		int err = get(p, max, REQ_US, &r);
		if (err == 1)
			return -1;
		if (!err && r.status == 404) {
			hresp_free(&r);
			continue;
		}
		if (err || r.status != 200) {
			failed("GET", p, err, &r);
			hresp_free(&r);
			return -1;
		}
		long n = decode(&r, p);
		if (n < 0) {
			hresp_free(&r);
			instance_id();
			return -1;
		}
		cl.data = r.body;	/* kept */
		fmt_snprintf(cl.outcome, sizeof(cl.outcome), "%ld bytes of "
			     "user data from GET %s", n, p);
		instance_id();
		return n;
	}
	none("no user data (404)");
	instance_id();
	return -1;
}

static long fetch(void)
{
	con_printf("cloud: %s (%s): asking its metadata service\n",
		   cloud_name(cl.kind), cl.why);
	if (network_up())
		return -1;
	long n = reach() ? -1 : user_data();
	timeline_mark(TIMELINE_METADATA);
	if (n >= 0)
		con_printf("cloud: %s: %s\n", cloud_name(cl.kind), cl.outcome);
	return n;
}

long cloud_user_data(char *buf, size_t size)
{
	if (cloud_detect() == CLOUD_NONE)
		return -1;
	if (!cl.fetched) {
		cl.fetched = 1;
		cl.len = fetch();
	}
	if (cl.len < 0)
		return -1;
	size_t c = (size_t)cl.len < size - 1 ? (size_t)cl.len : size - 1;
	memcpy(buf, cl.data, c);
	buf[c] = 0;
	return cl.len;
}

void cloud_print(const char *script_source)
{
	enum cloud_kind k = cloud_detect();
	if (k == CLOUD_NONE)
		con_printf("cloud: none recognised (%s)\n", cl.why);
	else
		con_printf("cloud: %s (%s)\n", cloud_name(k), cl.why);
	if (k != CLOUD_NONE && !cl.fetched)
		con_puts("cloud: metadata not asked (an earlier source gave "
			 "the script)\n");
	if (cl.fetched)
		con_printf("cloud: metadata: %s\n", cl.outcome[0] ? cl.outcome
			   : "no user data");
	if (cl.route[0])
		con_printf("cloud: " MD_ADDR " reached %s\n", cl.route);
	if (cl.id[0])
		con_printf("cloud: instance id %s\n", cl.id);
	con_printf("cloud: script from %s\n", script_source ? script_source
		   : "nowhere (the interactive shell)");
}
