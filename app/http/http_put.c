/* Uploads (PUT, RFC 9110 §9.3.4); see http.h. The body goes to a
 * temporary file beside the target, which replaces the target only once
 * the whole body arrived, and the volume is synced before the answer:
 * 201 or 204 means the target holds exactly the bytes this client sent.
 *
 * Other requests run between two pieces of a body, so the upload trusts
 * nothing it found earlier. The temporary file's name is reserved (no
 * request may name it: http_reserved); even so, before each write and
 * at the rename the name must still lead to this upload's inode, a file
 * of the bytes written so far, or the upload fails (500) rather than
 * write through a stale inode. And at the rename the target must be as
 * it was when the upload began (absent, or the same file unchanged): if
 * another request replaced, removed or created it meanwhile, the upload
 * fails (409) and leaves that request's result alone. */
#include "http.h"

#include <stdlib.h>
#include <string.h>

#include "../../runtime/fmt.h"
#include "../../runtime/random.h"
#include "../storage.h"

#define PUT_BUF (256u << 10)	/* PUT bodies reach the volume in these */

struct http_put {
	const struct http_site *site;
	struct efs *fs;
	uint32_t ino;		/* the temporary file */
	int existed;		/* the target existed ... */
	struct efs_stat was;	/* ... as this, when the upload began */
	int status;		/* nonzero: the upload failed, this answer */
	char why[160];		/* ... and for a 5xx its cause */
	uint64_t off;		/* bytes written to the temporary file */
	char *buf;
	size_t used;
	char tmp[EFS_PATH_MAX + 1], path[EFS_PATH_MAX + 1];
};

/* The upload fails with status (the first failure counts). */
static void doom(struct http_put *p, int status, const char *why)
{
	if (p->status)
		return;
	p->status = status;
	fmt_snprintf(p->why, sizeof(p->why), "%s", why);
}

static void doom_err(struct http_put *p, int err)
{
	doom(p, http_status_of(err), storage_strerror(err));
}

/* The temporary file beside the target: parent + HTTP_TEMP_PREFIX + 16
 * hex digits. */
static int temp_name(struct http_put *p)
{
	char *slash = strrchr(p->path, '/');
	size_t dir = (size_t)(slash - p->path) + 1;
	if (dir + sizeof(HTTP_TEMP_PREFIX) + 16 > sizeof(p->tmp))
		return 414;
	memcpy(p->tmp, p->path, dir);
	fmt_snprintf(p->tmp + dir, sizeof(p->tmp) - dir,
		     HTTP_TEMP_PREFIX "%016llx",
		     (unsigned long long)random_u64());
	return 0;
}

/* What the target is now: 0 with st, 404 when absent, or a refusal
 * (*err: the volume error of a 500). */
static int target(struct http_put *p, struct efs_stat *st, int *err)
{
	uint32_t ino;
	*err = 0;
	int code = http_walk(p->site, p->path, &ino, st, err);
	if (!code && st->kind != EFS_FILE)
		return 409;	/* a directory, or a symlink (not followed) */
	return code;
}

/* RFC 9110 §9.3.4: create or replace; checks before any body is read. */
static int put_check(const struct http_site *s, const struct http_req *r,
		     struct http_put *p, int *err)
{
	if (r->content_range)
		return 400;	/* RFC 9110 §14.5: no partial PUT */
	if (!r->length_given && !r->chunked)
		return 411;
	if (r->length > HTTP_BODY_MAX)
		return 413;
	if (!strcmp(r->path, "/") || r->trailing_slash)
		return 405;
	if (http_reserved(r->path))
		return 403;	/* an upload's name */
	int code = http_full_path(s, r->path, p->path);
	if (!code)
		code = target(p, &p->was, err);
	if (code && code != 404)
		return code;
	p->existed = !code;
	return temp_name(p);
}

struct http_put *http_put_begin(struct http_site *s, const struct http_req *r,
				struct http_resp *o)
{
	if (!http_may_write(s, r, o))
		return 0;
	struct http_put *p = calloc(1, sizeof(*p));
	int err = 0, code = 500;
	if (p) {
		p->site = s;
		p->fs = s->fs;
		code = put_check(s, r, p, &err);
	}
	if (!code && !(p->buf = malloc(PUT_BUF)))
		code = 500;
	if (!code && (err = efs_create(s->fs, p->tmp, 0644, &p->ino)))
		code = http_status_of(err);
	if (code) {
		if (p)
			free(p->buf);
		free(p);
		http_fail(o, code, err ? storage_strerror(err) : code == 500
			  ? "out of memory" : "");
		return 0;
	}
	return p;
}

/* The temporary file is still as this upload left it: its name leads
 * to its inode, a file holding exactly the bytes written so far. (A
 * failed efs_write changes nothing: every change is all or nothing.) */
static int temp_ours(struct http_put *p)
{
	uint32_t ino;
	struct efs_stat st;
	return !efs_lookup(p->fs, p->tmp, 0, &ino) && ino == p->ino &&
	       !efs_stat(p->fs, ino, &st) && st.kind == EFS_FILE &&
	       st.size == p->off;
}

static void check_temp(struct http_put *p)
{
	if (!p->status && !temp_ours(p))
		doom(p, 500, "the upload's temporary file changed under it");
}

static void flush(struct http_put *p)
{
	if (p->used)
		check_temp(p);
	if (p->used && !p->status) {
		int64_t w = efs_write(p->fs, p->ino, p->off, p->buf, p->used);
		if (w < 0)
			doom_err(p, (int)w);
		else if ((size_t)w != p->used)
			doom(p, 500, "the volume took part of a write");
		else
			p->off += p->used;
	}
	p->used = 0;
}

int http_put_data(struct http_put *p, const void *data, uint64_t n)
{
	const char *d = data;
	while (n && !p->status) {
		size_t k = PUT_BUF - p->used;
		if (k > n)
			k = (size_t)n;
		memcpy(p->buf + p->used, d, k);
		p->used += k;
		d += k;
		n -= k;
		if (p->used == PUT_BUF)
			flush(p);
	}
	return p->status;
}

/* The target is as the upload found it: still absent, or the same file
 * unchanged. */
static void check_target(struct http_put *p)
{
	struct efs_stat st;
	int err, code = target(p, &st, &err);
	if (code == 500)
		doom_err(p, err);
	else if (p->existed ? code || st.ino != p->was.ino ||
		 st.size != p->was.size || st.mtime != p->was.mtime ||
		 st.ctime != p->was.ctime : code != 404)
		doom(p, 409, "");	/* another request changed it */
}

/* The whole body is in: the temporary file replaces the target. */
static void commit(struct http_put *p)
{
	if (!p->status)
		check_target(p);
	check_temp(p);
	int err = p->status ? 0 : efs_rename(p->fs, p->tmp, p->path);
	if (err)
		doom_err(p, err);
}

void http_put_end(struct http_put *p, int complete, struct http_resp *o)
{
	flush(p);
	if (complete)
		commit(p);
	else
		doom(p, 400, "");	/* the body broke off: the caller says */
	if (p->status && temp_ours(p))	/* only what it left there */
		efs_unlink(p->fs, p->tmp);
	int err = efs_sync(p->fs);	/* before the answer */
	if (err)
		doom_err(p, err);
	if (p->status)
		http_fail(o, p->status, p->why);
	else
		http_error(o, p->existed ? 204 : 201);
	free(p->buf);
	free(p);
}
