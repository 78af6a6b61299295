/* What the server answers; see http.h. Paths from clients are decoded
 * and checked by http_path (no "..", NUL, backslash); here they are put
 * under the served directory and looked up one component at a time,
 * never following a symlink, so nothing outside the directory is read or
 * written. Writes need the token and are synced before they are
 * acknowledged. */
#include "http.h"

#include <stdlib.h>
#include <string.h>

#include "../../runtime/fmt.h"
#include "../../runtime/random.h"

#define PUT_BUF (256u << 10)	/* PUT bodies reach the volume in these */
#define TEMP_PREFIX ".umbra-put-"

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

/* The volume path of a request path: root + path. 414 when too long. */
static int full_path(const struct http_site *s, const char *path, char *out)
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

/* Looks path (a full_path) up one component at a time below the root,
 * following no symlink: 0 with *ino and *st (the last component may be a
 * symlink: st says); 404 when only the last component is missing, 409
 * when its parent is missing or not a directory, 403 for a symlink on
 * the way, 500 for a volume error. */
static int walk(const struct http_site *s, char *path, uint32_t *ino,
		struct efs_stat *st)
{
	size_t i = strlen(s->root);
	int err = efs_lookup(s->fs, i ? s->root : "/", 1, ino);
	if (!err)
		err = efs_stat(s->fs, *ino, st);
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

static void get(struct http_site *s, const struct http_req *r,
		struct http_resp *o)
{
	char path[EFS_PATH_MAX + 1];
	uint32_t ino;
	struct efs_stat st;
	int st_err = full_path(s, r->path, path);
	if (!st_err)
		st_err = walk(s, path, &ino, &st);
	if (st_err == 409)
		st_err = 404;
	if (st_err || st.kind == EFS_SYMLINK) {
		http_error(o, st_err ? st_err : 403);
	} else if (st.kind == EFS_DIR) {
		http_listing(s, r, ino, o);
	} else if (r->trailing_slash) {
		http_error(o, 404);	/* a file is no directory */
	} else {
		file(r, &st, o);
	}
	o->head_only = r->method == HTTP_HEAD;
}

/* Writes need the token (RFC 6750 §3: 401 names the scheme); without
 * one the server is read-only (403). */
static int may_write(struct http_site *s, const struct http_req *r,
		     struct http_resp *o)
{
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

static int status_of(int err)
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

/* DELETE (RFC 9110 §9.3.5) and MKCOL (RFC 4918 §9.3): one change, then
 * a sync before the answer. */
static void change(struct http_site *s, const struct http_req *r,
		   struct http_resp *o)
{
	char path[EFS_PATH_MAX + 1];
	uint32_t ino;
	struct efs_stat st;
	if (!may_write(s, r, o))
		return;
	if (!strcmp(r->path, "/")) {
		http_error(o, r->method == HTTP_MKCOL ? 405 : 403);
		return;
	}
	if (r->method == HTTP_MKCOL && r->has_body) {
		http_error(o, 415);	/* RFC 4918 §9.3.1 */
		return;
	}
	int code = full_path(s, r->path, path);
	if (!code)
		code = walk(s, path, &ino, &st);
	int err = 0;
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
	if (err)
		code = status_of(err);
	else if (code < 300 && (err = efs_sync(s->fs)))
		code = status_of(err);
	http_error(o, code);
}

void http_answer(struct http_site *s, const struct http_req *r,
		 struct http_resp *o)
{
	if (r->method == HTTP_GET || r->method == HTTP_HEAD)
		get(s, r, o);
	else if (r->method == HTTP_DELETE || r->method == HTTP_MKCOL)
		change(s, r, o);
	else
		http_error(o, 405);
}

struct http_put {
	struct efs *fs;
	uint32_t ino;
	int existed, err;
	uint64_t off;
	char *buf;
	size_t used;
	char tmp[EFS_PATH_MAX + 1], path[EFS_PATH_MAX + 1];
};

/* The temporary file beside the target: parent + TEMP_PREFIX + 16 hex
 * digits. */
static int temp_name(struct http_put *p)
{
	char *slash = strrchr(p->path, '/');
	size_t dir = (size_t)(slash - p->path) + 1;
	if (dir + sizeof(TEMP_PREFIX) + 16 > sizeof(p->tmp))
		return 414;
	memcpy(p->tmp, p->path, dir);
	fmt_snprintf(p->tmp + dir, sizeof(p->tmp) - dir, TEMP_PREFIX "%016llx",
		     (unsigned long long)random_u64());
	return 0;
}

/* RFC 9110 §9.3.4: create or replace; checks before any body is read. */
static int put_check(struct http_site *s, const struct http_req *r,
		     struct http_put *p)
{
	uint32_t ino;
	struct efs_stat st;
	if (r->content_range)
		return 400;	/* RFC 9110 §14.5: no partial PUT */
	if (!r->length_given && !r->chunked)
		return 411;
	if (r->length > HTTP_BODY_MAX)
		return 413;
	if (!strcmp(r->path, "/") || r->trailing_slash)
		return 405;
	int code = full_path(s, r->path, p->path);
	if (!code)
		code = walk(s, p->path, &ino, &st);
	if (!code && st.kind != EFS_FILE)
		return 409;	/* a directory, or a symlink (not followed) */
	if (code && code != 404)
		return code;
	p->existed = !code;
	return temp_name(p);
}

struct http_put *http_put_begin(struct http_site *s, const struct http_req *r,
				struct http_resp *o)
{
	if (!may_write(s, r, o))
		return 0;
	struct http_put *p = calloc(1, sizeof(*p));
	int code = p ? 0 : 500;
	if (!code)
		code = put_check(s, r, p);
	if (!code && !(p->buf = malloc(PUT_BUF)))
		code = 500;
	int err = code ? 0 : efs_create(s->fs, p->tmp, 0644, &p->ino);
	if (err)
		code = status_of(err);
	if (code) {
		if (p)
			free(p->buf);
		free(p);
		http_error(o, code);
		return 0;
	}
	p->fs = s->fs;
	return p;
}

static int flush(struct http_put *p)
{
	int64_t w = p->used ? efs_write(p->fs, p->ino, p->off, p->buf,
					p->used) : 0;
	if (w < 0 && !p->err)
		p->err = (int)w;
	p->off += p->used;
	p->used = 0;
	return p->err;
}

int http_put_data(struct http_put *p, const void *data, uint64_t n)
{
	const char *d = data;
	while (n && !p->err) {
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
	return p->err ? status_of(p->err) : 0;
}

void http_put_end(struct http_put *p, int complete, struct http_resp *o)
{
	int err = flush(p);
	if (complete && !err)
		err = efs_rename(p->fs, p->tmp, p->path);
	if (!complete || err)
		efs_unlink(p->fs, p->tmp);
	int serr = efs_sync(p->fs);	/* before the answer */
	if (!err)
		err = serr;
	http_error(o, err ? status_of(err) : p->existed ? 204 : 201);
	free(p->buf);
	free(p);
}
