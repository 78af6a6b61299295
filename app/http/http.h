/* The HTTP/1.1 server for the EclipseFS volume: `serve`. http_serve.c
 * keeps the connections (lwIP's raw TCP API, limits, timeouts, sending);
 * http_files.c decides what to answer (files, listings, PUT, DELETE,
 * MKCOL) from a parsed request (http_parse.h). */
#ifndef UMBRA_HTTP_H
#define UMBRA_HTTP_H

#include <stdint.h>

#include "../../fs/eclipsefs.h"
#include "http_parse.h"

#define HTTP_BODY_MAX (1ull << 30)	/* a PUT body: larger is 413 */

struct http_opts {
	uint16_t port;		/* plain HTTP; 0: none (with TLS only) */
	const char *token;	/* writes need "Bearer <token>"; NULL: none */
	const char *dir;	/* served directory (absolute) */
	/* HTTPS (http_tls.c): the certificate chain and the private key in
	 * PEM, each a path on the volume or "fw_cfg" (QEMU's fw_cfg items
	 * opt/umbra/tls/cert and opt/umbra/tls/key); NULL: no TLS. */
	const char *tls_cert, *tls_key;
	uint16_t tls_port;
};

/* Serves until the power button (or Ctrl-C on the console; Enter prints
 * the statistics). Returns the shell status. */
int http_serve(const struct http_opts *o);

/* What is served, and how writes are allowed. */
struct http_site {
	struct efs *fs;
	char root[EFS_PATH_MAX + 1];	/* the served directory, "" for / */
	const char *token;
	int tls_only;		/* writes and the token only over TLS */
};

/* A response: status, fields, and a body of a file's bytes or of memory
 * (malloc'd; the server frees it). */
struct http_resp {
	int status;
	const char *type;	/* Content-Type, or NULL */
	char etag[40];		/* "" when none */
	uint64_t mtime;		/* Last-Modified when nonzero */
	char fields[192];	/* more field lines, each ending in CR LF */
	int head_only;		/* HEAD: the length, no body */
	int close;		/* close the connection after it */
	/* body */
	char *mem;
	uint32_t ino;		/* nonzero: the body is this file's bytes */
	uint64_t off, len;	/* ... [off, off + len), or mem[0..len) */
	uint64_t file_size, file_mtime;	/* the file as it was: sending
					 * stops if it changes */
	char why[160];		/* a 5xx's cause, for the console */
};

/* A short text body for status (404 and the like). */
void http_error(struct http_resp *o, int status);

/* The same, with the cause of a server-side failure (the storage
 * layer's sentence, "out of memory"): the console gets it, never the
 * client. */
void http_fail(struct http_resp *o, int status, const char *why);

/* Answers a request that carries no body for umbra (GET, HEAD, DELETE,
 * MKCOL, and PUT's refusals come from http_put_begin). */
void http_answer(struct http_site *s, const struct http_req *r,
		 struct http_resp *o);

/* The entries of directory ino (the request's path), as HTML or, when
 * the request accepts it, JSON (http_list.c). */
void http_listing(struct http_site *s, const struct http_req *r,
		  uint32_t ino, struct http_resp *o);

/* Uploads in progress are temporary files named HTTP_TEMP_PREFIX and 16
 * hex digits beside their target. Whether a request path has such a
 * component: those names are nobody's but their upload's (GET, HEAD and
 * DELETE answer 404, PUT and MKCOL 403; listings leave them out). */
#define HTTP_TEMP_PREFIX ".umbra-put-"
int http_reserved(const char *path);

/* PUT (http_put.c): begin (checks, a temporary file beside the target),
 * data as it arrives, end (the temporary file renamed over the target
 * and synced: 201 or 204; or removed). Before each write and at the
 * rename the temporary file must still be this upload's (500 if not),
 * and at the rename the target as it was when the upload began (409 if
 * not: another request changed it). begin returns the upload or NULL
 * with o holding the refusal. */
struct http_put;
struct http_put *http_put_begin(struct http_site *s,
				const struct http_req *r,
				struct http_resp *o);
/* 0, or an error status (the upload is then doomed). */
int http_put_data(struct http_put *p, const void *data, uint64_t n);
/* complete: the whole body arrived. Fills o; frees p. */
void http_put_end(struct http_put *p, int complete, struct http_resp *o);

/* Between http_files.c and http_put.c. */
/* The volume path of a request path: root + path. 414 when too long. */
int http_full_path(const struct http_site *s, const char *path, char *out);
/* Looks path (a full path) up one component at a time below the root,
 * following no symlink: 0 with *ino and *st (the last component may be a
 * symlink: st says); 404 when only the last component is missing, 409
 * when its parent is missing or not a directory, 403 for a symlink on
 * the way, 500 for a volume error (*err says which). */
int http_walk(const struct http_site *s, char *path, uint32_t *ino,
	      struct efs_stat *st, int *err);
/* 1 when r may write; else 0 with the refusal (401, 403) in o. */
int http_may_write(const struct http_site *s, const struct http_req *r,
		   struct http_resp *o);
/* The status for a volume error (EFS_ERR_*). */
int http_status_of(int err);
/* A refusal of status; when it is a volume's failure (err, else 0), its
 * cause goes with it in the storage layer's words. */
void http_refuse(struct http_resp *o, int status, int err);

#endif
