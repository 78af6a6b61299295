/* What the server answers; see http.h. Paths from clients are decoded
 * and checked by http_path (no "..", NUL, backslash); here they are put
 * under the served directory and looked up one component at a time,
 * never following a symlink, so nothing outside the directory is read or
 * written. Writes need the token and are synced before they are
 * acknowledged. Uploads (PUT) are http_put.c's; the names of those in
 * progress are nobody else's (http_reserved). */
#include "http.h"

#include <stdlib.h>
#include <string.h>

#include "../../runtime/fmt.h"
#include "../storage.h"

void http_fail(struct http_resp *o, int status, const char *why)
{
	http_error(o, status);
	fmt_snprintf(o->why, sizeof(o->why), "%s", why);
}

int http_reserved(const char *path)
{
	for (const char *c = path; (c = strchr(c, '/')); c++)
		if (!strncmp(c + 1, HTTP_TEMP_PREFIX, sizeof(HTTP_TEMP_PREFIX)
			     - 1))
			return 1;
	return 0;
}

void http_error(struct http_resp *o, int status)
{
	memset(o, 0, sizeof(*o));
	o->status = status;
	if (status == 304 || status == 204)
		return;
	o->type = "text/plain; charset=utf-8";
	o->mem = malloc(64);
	if (o->mem)
		o->len = (uint64_t)fmt_snprintf(o->mem, 64, "%d %s\n", status,
						http_reason(status));
}

int http_full_path(const struct http_site *s, const char *path, char *out)
{
	size_t a = strlen(s->root), b = strlen(path);
	if (a + b > EFS_PATH_MAX)
		return 414;
	memcpy(out, s->root, a);
	memcpy(out + a, path, b + 1);
	if (!out[0])
		memcpy(out, "/", 2);
	return 0;
}

int http_walk(const struct http_site *s, char *path, uint32_t *ino,
	      struct efs_stat *st, int *err_out)
{
	size_t i = strlen(s->root);
	int err = efs_lookup(s->fs, i ? s->root : "/", 1, ino);
	if (!err)
		err = efs_stat(s->fs, *ino, st);
	*err_out = err;
	if (err)
		return 500;
	while (path[i] == '/' && path[i + 1]) {
		if (st->kind == EFS_SYMLINK)
			return 403;
		if (st->kind != EFS_DIR)
			return 409;
		char *next = strchr(path + i + 1, '/');
		size_t end = next ? (size_t)(next - path) : strlen(path);
		char saved = path[end];
		path[end] = 0;
		err = efs_lookup(s->fs, path, 0, ino);
		if (!err)
			err = efs_stat(s->fs, *ino, st);
		path[end] = saved;
		if (err == EFS_ERR_NOT_FOUND)
			return saved ? 409 : 404;
		*err_out = err;
		if (err)
			return err == EFS_ERR_NAME ? 400 : 500;
		i = end;
	}
	return 0;
}

/* A strong validator from what changes when the content does. XXX: two
 * writes of the same size within one second keep the tag (EclipseFS
 * keeps seconds). */
static void etag(const struct efs_stat *st, char out[40])
{
	fmt_snprintf(out, 40, "\"%x-%llx-%llx\"", st->ino,
		     (unsigned long long)st->size,
		     (unsigned long long)st->mtime);
}

static void file(const struct http_req *r, const struct efs_stat *st,
		 struct http_resp *o)
{
	memset(o, 0, sizeof(*o));
	etag(st, o->etag);
	o->mtime = st->mtime;
	o->head_only = r->method == HTTP_HEAD;
	if (http_etag_match(r->if_none_match, o->etag)) {
		o->status = 304;	/* RFC 9110 §13.1.2 */
		return;
	}
	o->status = 200;
	o->type = http_mime(r->path);
	o->ino = st->ino;
	o->len = st->size;
	o->file_size = st->size;
	o->file_mtime = st->mtime;
	uint64_t first, last;
	/* RFC 9110 §13.1.5: a stale If-Range means the whole file. */
	int range = r->if_range && strcmp(r->if_range, o->etag)
		    ? 0 : http_range(r->range, st->size, &first, &last);
	if (range < 0) {
		struct http_resp e;
		http_error(&e, 416);
		*o = e;
		fmt_snprintf(o->fields, sizeof(o->fields),
			     "Content-Range: bytes */%llu\r\n",
			     (unsigned long long)st->size);
	} else if (range > 0) {
		o->status = 206;	/* RFC 9110 §15.3.7 */
		o->off = first;
		o->len = last - first + 1;
		fmt_snprintf(o->fields, sizeof(o->fields),
			     "Content-Range: bytes %llu-%llu/%llu\r\n",
			     (unsigned long long)first,
			     (unsigned long long)last,
			     (unsigned long long)st->size);
	}
}

int http_status_of(int err)
{
	switch (err) {
	case EFS_ERR_NOT_FOUND: return 404;
	case EFS_ERR_EXISTS: return 405;
	case EFS_ERR_NOT_EMPTY: return 409;
	case EFS_ERR_NOT_DIR: return 409;
	case EFS_ERR_NAME: return 400;
	case EFS_ERR_TOO_BIG: return 413;
	case EFS_ERR_NO_SPACE:
	case EFS_ERR_NO_INODES: return 507;
	case EFS_ERR_READ_ONLY: return 403;
	case EFS_ERR_FROZEN: return 503;	/* serve holds; a safety net */
	default: return 500;
	}
}

void http_refuse(struct http_resp *o, int status, int err)
{
	http_fail(o, status, err ? storage_strerror(err) : "");
}

static void get(struct http_site *s, const struct http_req *r,
		struct http_resp *o)
{
	char path[EFS_PATH_MAX + 1];
	uint32_t ino;
	struct efs_stat st;
	int err = 0, code = http_reserved(r->path) ? 404
			    : http_full_path(s, r->path, path);
	if (!code)
		code = http_walk(s, path, &ino, &st, &err);
	if (code == 409)
		code = 404;
	if (code || st.kind == EFS_SYMLINK) {
		http_refuse(o, code ? code : 403, err);
	} else if (st.kind == EFS_DIR) {
		http_listing(s, r, ino, o);
	} else if (r->trailing_slash) {
		http_error(o, 404);	/* a file is no directory */
	} else {
		file(r, &st, o);
	}
	o->head_only = r->method == HTTP_HEAD;
}

/* With TLS on, a write or the token over plain HTTP is refused (403)
 * with a sentence saying why: the token and uploads never cross the
 * network in clear text, even by a client's mistake. */
static int plain_refused(const struct http_site *s, const struct http_req *r,
			 struct http_resp *o)
{
	static const char why[] = "403 Forbidden: writes and the token are "
				  "accepted over HTTPS only on this server\n";
	int reads = r->method == HTTP_GET || r->method == HTTP_HEAD;
	if (!s->tls_only || r->tls || (reads && !r->authorization))
		return 0;
	http_error(o, 403);
	free(o->mem);
	o->mem = malloc(sizeof(why));
	o->len = o->mem ? sizeof(why) - 1 : 0;
	if (o->mem)
		memcpy(o->mem, why, sizeof(why));
	return 1;
}

/* Writes need the token (RFC 6750 §3: 401 names the scheme); without
 * one the server is read-only (403). */
int http_may_write(const struct http_site *s, const struct http_req *r,
		   struct http_resp *o)
{
	if (plain_refused(s, r, o))
		return 0;
	if (!s->token) {
		http_error(o, 403);
		return 0;
	}
	if (!http_bearer_ok(r->authorization, s->token)) {
		http_error(o, 401);
		memcpy(o->fields, "WWW-Authenticate: Bearer\r\n", 27);
		return 0;
	}
	return 1;
}

/* DELETE (RFC 9110 §9.3.5) and MKCOL (RFC 4918 §9.3): one change, then
 * a sync before the answer. */
static void change(struct http_site *s, const struct http_req *r,
		   struct http_resp *o)
{
	char path[EFS_PATH_MAX + 1];
	uint32_t ino;
	struct efs_stat st;
	if (!http_may_write(s, r, o))
		return;
	if (!strcmp(r->path, "/")) {
		http_error(o, r->method == HTTP_MKCOL ? 405 : 403);
		return;
	}
	if (r->method == HTTP_MKCOL && r->has_body) {
		http_error(o, 415);	/* RFC 4918 §9.3.1 */
		return;
	}
	if (http_reserved(r->path)) {	/* an upload's: none of theirs */
		http_error(o, r->method == HTTP_MKCOL ? 403 : 404);
		return;
	}
	int err = 0, code = http_full_path(s, r->path, path);
	if (!code)
		code = http_walk(s, path, &ino, &st, &err);
	if (r->method == HTTP_MKCOL) {
		if (!code)
			code = 405;	/* it exists */
		else if (code == 404 && !(err = efs_mkdir(s->fs, path, 0755)))
			code = 201;
	} else if (code == 409) {
		code = 404;
	} else if (!code) {	/* a symlink goes, not what it names */
		err = st.kind == EFS_DIR ? efs_rmdir(s->fs, path)
					 : efs_unlink(s->fs, path);
		code = 204;
	}
	if (!err && code < 300)
		err = efs_sync(s->fs);
	if (err)
		code = http_status_of(err);
	http_refuse(o, code, err);
}

void http_answer(struct http_site *s, const struct http_req *r,
		 struct http_resp *o)
{
	if (plain_refused(s, r, o))
		return;
	if (r->method == HTTP_GET || r->method == HTTP_HEAD)
		get(s, r, o);
	else if (r->method == HTTP_DELETE || r->method == HTTP_MKCOL)
		change(s, r, o);
	else
		http_error(o, 405);
}
