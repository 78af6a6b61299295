/* Directory listings for `serve`: HTML, or JSON when the client accepts
 * it; names escaped for each (and for the links' URLs). See http.h. */
#include "http.h"

#include <stdlib.h>
#include <string.h>

#include "../../runtime/fmt.h"
#include "../storage.h"

#define LISTING_MAX (4u << 20)	/* a listing longer than this is 500 */

/* A growing text. */
struct text {
	char *s;
	size_t len, cap;
	int full;
};

static void add(struct text *t, const char *s, size_t n)
{
	if (t->full)
		return;
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 4096;
		while (cap < t->len + n + 1)
			cap *= 2;
		char *p = cap <= LISTING_MAX ? realloc(t->s, cap) : 0;
		if (!p) {
			t->full = 1;
			return;
		}
		t->s = p;
		t->cap = cap;
	}
	memcpy(t->s + t->len, s, n);
	t->len += n;
}

static void adds(struct text *t, const char *s)
{
	add(t, s, strlen(s));
}

/* s escaped for HTML text and attributes. */
static void add_html(struct text *t, const char *s)
{
	for (; *s; s++) {
		const char *e = *s == '&' ? "&amp;" : *s == '<' ? "&lt;"
			      : *s == '>' ? "&gt;" : *s == '"' ? "&quot;"
			      : *s == '\'' ? "&#39;" : 0;
		if (e)
			adds(t, e);
		else
			add(t, s, 1);
	}
}

/* s percent-encoded for a URL path (RFC 3986 §2.3 unreserved and "/"
 * stay). */
static void add_url(struct text *t, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("-._~/", c)) {
			add(t, s, 1);
		} else {
			char e[4];
			fmt_snprintf(e, sizeof(e), "%%%02X", c);
			add(t, e, 3);
		}
	}
}

/* s as a JSON string body (RFC 8259 §7). */
static void add_json(struct text *t, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			char e[2] = { '\\', (char)c };
			add(t, e, 2);
		} else if (c < 0x20) {
			char e[8];
			fmt_snprintf(e, sizeof(e), "\\u%04x", c);
			add(t, e, 6);
		} else {
			add(t, s, 1);
		}
	}
}

static const char *kind_name(uint8_t kind)
{
	return kind == EFS_DIR ? "dir" : kind == EFS_SYMLINK ? "symlink"
							     : "file";
}

static void entry(struct text *t, int json, const char *dir,
		  const struct efs_dirent *e, const struct efs_stat *st,
		  int first)
{
	char num[64];
	if (json) {
		adds(t, first ? "\n{\"name\":\"" : ",\n{\"name\":\"");
		add_json(t, e->name);
		fmt_snprintf(num, sizeof(num), "\",\"type\":\"%s\",\"size\":"
			     "%llu,\"mtime\":%llu}", kind_name(st->kind),
			     (unsigned long long)st->size,
			     (unsigned long long)st->mtime);
		adds(t, num);
		return;
	}
	adds(t, "<li><a href=\"");
	add_url(t, dir);
	add_url(t, e->name);
	adds(t, st->kind == EFS_DIR ? "/\">" : "\">");
	add_html(t, e->name);
	fmt_snprintf(num, sizeof(num), "%s</a> %llu</li>\n",
		     st->kind == EFS_DIR ? "/" : "",
		     (unsigned long long)st->size);
	adds(t, num);
}

void http_listing(struct http_site *s, const struct http_req *r,
		  uint32_t ino, struct http_resp *o)
{
	struct text t = { 0 };
	char dir[HTTP_PATH_MAX + 2];
	fmt_snprintf(dir, sizeof(dir), "%s%s", r->path,
		     strcmp(r->path, "/") ? "/" : "");
	if (r->wants_json) {
		adds(&t, "{\"path\":\"");
		add_json(&t, dir);
		adds(&t, "\",\"entries\":[");
	} else {
		adds(&t, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
			 "<title>");
		add_html(&t, dir);
		adds(&t, "</title></head><body><h1>");
		add_html(&t, dir);
		adds(&t, "</h1><ul>\n");
	}
	struct efs_dir *d = 0;
	struct efs_dirent e;
	struct efs_stat st;
	int err = efs_opendir(s->fs, ino, &d), n = 0, more;
	while (!err && (more = efs_readdir(d, &e)) != 0) {
		if (more > 0 && !strncmp(e.name, HTTP_TEMP_PREFIX,
					 sizeof(HTTP_TEMP_PREFIX) - 1))
			continue;	/* an upload in progress */
		if (more < 0 || (err = efs_stat(s->fs, e.ino, &st))) {
			err = more < 0 ? more : err;
			break;
		}
		entry(&t, r->wants_json, dir, &e, &st, !n++);
	}
	if (d)
		efs_closedir(d);
	adds(&t, r->wants_json ? "\n]}\n" : "</ul></body></html>\n");
	if (err || t.full) {
		free(t.s);
		http_fail(o, 500, err ? storage_strerror(err) : "the listing "
			  "is over 4 MiB, or out of memory");
		return;
	}
	memset(o, 0, sizeof(*o));
	o->status = 200;
	o->type = r->wants_json ? "application/json"
				: "text/html; charset=utf-8";
	o->mem = t.s;
	o->len = t.len;
	o->head_only = r->method == HTTP_HEAD;
}
