/* serve --tls; see http_tls.h. */
#include "http_tls.h"

#include <stdlib.h>
#include <string.h>

#include "../../runtime/console.h"
#include "../../runtime/fmt.h"
#include "../../runtime/fwcfg.h"
#include "../../runtime/random.h"
#include "../net/tls.h"
#include "http_conn.h"

static struct tls_creds creds;
static struct altcp_tls_config *config;

/* The text of src, a path on the volume or "fw_cfg" (the item), at most
 * max bytes, into a malloc'd *out. 0, or why not. */
static const char *read_text(struct efs *fs, const char *src,
			     const char *item, size_t max, char **out,
			     size_t *len)
{
	char *buf = malloc(max + 1);
	*out = buf;
	if (!buf)
		return "out of memory";
	if (!strcmp(src, HTTP_TLS_FWCFG)) {
		long n = fwcfg_read_file(item, buf, max + 1);
		if (n < 0)
			return "no such fw_cfg item";
		if ((size_t)n > max)
			return "too big";
		*len = (size_t)n;
		return 0;
	}
	uint32_t ino;
	struct efs_stat st;
	if (src[0] != '/' || efs_lookup(fs, src, 1, &ino) ||
	    efs_stat(fs, ino, &st) || st.kind != EFS_FILE)
		return "no such file on the volume";
	if (st.size > max)
		return "too big";
	int64_t n = efs_read(fs, ino, 0, buf, (size_t)st.size);
	if (n != (int64_t)st.size)
		return "cannot be read";
	*len = (size_t)n;
	return 0;
}

/* A key file on the volume must not be inside the served directory,
 * where a GET would fetch it: no directory on the key's way may be the
 * served one. The way is taken without symlinks (one on it is refused),
 * so it is the real one: EclipseFS has no hard links. */
static const char *key_outside(const struct http_site *s, const char *key)
{
	static const char inside[] = "the key file is inside the served "
		"directory (it would be served): keep it elsewhere, or pass "
		"it by fw_cfg";
	static const char link[] = "a symlink on the key's path (name the "
				   "key by its own path)";
	uint32_t root, ino;
	struct efs_stat st;
	char path[EFS_PATH_MAX + 1];
	size_t n = strlen(key);
	if (key[0] != '/' || n > EFS_PATH_MAX)
		return 0;	/* read_text refuses it */
	if (efs_lookup(s->fs, s->root[0] ? s->root : "/", 1, &root))
		return "the served directory is gone";
	for (size_t i = 0; i <= n; i++) {
		if (i < n && key[i] != '/')
			continue;
		memcpy(path, key, n + 1);
		path[i ? i : 1] = 0;	/* "/", "/a", "/a/b", the key */
		if (efs_lookup(s->fs, path, 0, &ino))
			return 0;	/* read_text says what is missing */
		if (i < n && ino == root)
			return inside;
		if (!efs_stat(s->fs, ino, &st) && st.kind == EFS_SYMLINK)
			return link;
	}
	return 0;
}

const char *http_tls_start(const struct http_opts *o,
			   const struct http_site *s)
{
	static char why[160];
	char *cert = 0, *key = 0;
	size_t cert_len = 0, key_len = 0;
	const char *what = o->tls_cert, *err = 0;
	if (!random_seeded())
		return "TLS refused: the random generator has no seed (no "
		       "RDSEED or RDRAND, no virtio-rng, no TSC jitter)";
	if (strcmp(o->tls_key, HTTP_TLS_FWCFG))
		err = key_outside(s, o->tls_key);
	if (err)
		what = o->tls_key;
	if (!err)
		err = read_text(s->fs, o->tls_cert, HTTP_TLS_FWCFG_CERT,
				TLS_CERT_MAX, &cert, &cert_len);
	if (!err) {
		what = o->tls_key;
		err = read_text(s->fs, o->tls_key, HTTP_TLS_FWCFG_KEY,
				TLS_KEY_MAX, &key, &key_len);
	}
	if (!err) {
		what = "TLS";
		err = tls_creds_load(&creds, cert, cert_len, key, key_len);
	}
	if (key) {
		memset(key, 0, key_len);
		free(key);
	}
	free(cert);
	/* a slot for each connection, and one for the newcomer that
	 * evicts the idlest of them (http_accept) */
	if (!err && !(config = altcp_tls_server_config(&creds,
							HTTP_CONNS_MAX + 1)))
		err = "out of memory for the TLS connections";
	if (!err)
		return 0;
	http_tls_stop();
	fmt_snprintf(why, sizeof(why), "%s: %s", what, err);
	return why;
}

struct altcp_tls_config *http_tls_config(void)
{
	return config;
}

const char *http_tls_describe(char *out, size_t n)
{
	char key[24], suites[160];
	fmt_snprintf(out, n, "TLS 1.2, %s key, suites %s",
		     tls_creds_describe(&creds, key, sizeof(key)),
		     altcp_tls_suites(config, suites, sizeof(suites)));
	return out;
}

void http_tls_stats(void)
{
	if (!config)
		return;
	const struct tls_stats *t = altcp_tls_stats(config);
	con_printf("serve: tls: %llu handshakes (%llu resumed), %llu failed, "
		   "%llu timed out, %llu refused\n",
		   (unsigned long long)t->handshakes,
		   (unsigned long long)t->resumed,
		   (unsigned long long)t->failed,
		   (unsigned long long)t->timeouts,
		   (unsigned long long)t->refused);
}

void http_tls_stop(void)
{
	altcp_tls_server_free(config);
	config = 0;
	tls_creds_free(&creds);
}
