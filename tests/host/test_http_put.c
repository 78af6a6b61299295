/* Uploads (app/http/http_put.c) and the answers around them
 * (http_files.c, http_list.c) on an EclipseFS volume in RAM, under ASan
 * and UBSan: what a 201 or 204 promises, and what an upload does when
 * the volume changes under it between two pieces of its body. The
 * changes HTTP can no longer make (the temporary file deleted or
 * replaced: its name is reserved) are made here straight through fs/,
 * as a bug elsewhere might. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../app/http/http.h"
#include "../../app/storage.h"
#include "check.h"
#include "memdev.h"

#define MIB (1024 * 1024)

/* The console's cause of a 5xx comes from here in the image. */
const char *storage_strerror(int err)
{
	return efs_strerror(err);
}

static struct memdev dev;
static struct http_site site;
static char head[4096];
static struct http_req req;

static void mount_fresh(void)
{
	memdev_init(&dev, 8 * MIB);
	CHECK_INT(efs_format(&dev.io, 0, dev.now), 0);
	memset(&site, 0, sizeof(site));
	CHECK_INT(efs_mount(&dev.io, &site.fs), 0);
	site.token = "T";
}

static void unmount(void)
{
	CHECK_INT(efs_unmount(site.fs), 0);
	memdev_free(&dev);
}

/* After a write error the volume may refuse to commit again. */
static void unmount_failed(void)
{
	efs_unmount(site.fs);
	memdev_free(&dev);
}

/* A request head for method and path, with the token (and a length for
 * PUT); parsed into req. */
static void ask(const char *method, const char *path, uint64_t length)
{
	snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: u\r\n"
		 "Authorization: Bearer T\r\nContent-Length: %llu\r\n\r\n",
		 method, path, (unsigned long long)length);
	CHECK_INT(http_parse(head, strlen(head), &req), 0);
}

static int answer(const char *method, const char *path)
{
	struct http_resp o = { 0 };
	ask(method, path, 0);
	http_answer(&site, &req, &o);
	free(o.mem);
	return o.status;
}

static struct http_put *put_begin(const char *path, uint64_t length,
				  int *refusal)
{
	struct http_resp o = { 0 };
	ask("PUT", path, length);
	struct http_put *p = http_put_begin(&site, &req, &o);
	*refusal = p ? 0 : o.status;
	free(o.mem);
	return p;
}

static int put_end(struct http_put *p, int complete, char *why, size_t n)
{
	struct http_resp o = { 0 };
	http_put_end(p, complete, &o);
	if (why)
		snprintf(why, n, "%s", o.why);
	free(o.mem);
	return o.status;
}

static void fill(uint8_t *b, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(seed * 131 + i * 7 + (i >> 9));
}

/* Whether the file at path holds exactly data[0..n). */
static int holds(const char *path, const void *data, size_t n)
{
	uint32_t ino;
	struct efs_stat st;
	if (efs_lookup(site.fs, path, 0, &ino) || efs_stat(site.fs, ino, &st) ||
	    st.size != n)
		return 0;
	uint8_t *got = malloc(n + 1);
	int same = efs_read(site.fs, ino, 0, got, n + 1) == (int64_t)n &&
		   !memcmp(got, data, n);
	free(got);
	return same;
}

static int has(const char *text, size_t n, const char *word)
{
	size_t w = strlen(word);
	for (size_t i = 0; i + w <= n; i++)
		if (!memcmp(text + i, word, w))
			return 1;
	return 0;
}

static int exists(const char *path)
{
	uint32_t ino;
	return !efs_lookup(site.fs, path, 0, &ino);
}

/* The name of the one upload in progress in "/" ("/.umbra-put-..."),
 * or "" when there is none. */
static const char *temp_of_root(void)
{
	static char name[EFS_PATH_MAX + 1];
	uint32_t root;
	struct efs_dir *d;
	struct efs_dirent e;
	name[0] = 0;
	CHECK_INT(efs_lookup(site.fs, "/", 1, &root), 0);
	CHECK_INT(efs_opendir(site.fs, root, &d), 0);
	while (efs_readdir(d, &e) > 0)
		if (!strncmp(e.name, HTTP_TEMP_PREFIX,
			     strlen(HTTP_TEMP_PREFIX)))
			snprintf(name, sizeof(name), "/%s", e.name);
	efs_closedir(d);
	return name;
}

/* 600 KiB in uneven pieces: 201, then 204 for another body; exactly
 * the bytes sent, and no temporary file left. */
static void test_whole(void)
{
	static uint8_t body[600 * 1024];
	int refusal;
	mount_fresh();
	for (int round = 0; round < 2; round++) {
		fill(body, sizeof(body), (unsigned)round);
		struct http_put *p = put_begin("/a.bin", sizeof(body),
					       &refusal);
		CHECK(p != 0);
		if (!p)
			break;
		for (size_t at = 0; at < sizeof(body); at += 7001) {
			size_t k = sizeof(body) - at < 7001 ? sizeof(body) - at
							    : 7001;
			CHECK_INT(http_put_data(p, body + at, k), 0);
		}
		CHECK_INT(put_end(p, 1, 0, 0), round ? 204 : 201);
		CHECK(holds("/a.bin", body, sizeof(body)));
		CHECK_STR(temp_of_root(), "");
	}
	/* a body that broke off: the target as it was, no temporary file */
	struct http_put *p = put_begin("/a.bin", 100, &refusal);
	CHECK(p && !http_put_data(p, "xyz", 3));
	if (p)
		put_end(p, 0, 0, 0);
	CHECK(holds("/a.bin", body, sizeof(body)));
	CHECK_STR(temp_of_root(), "");
	unmount();
}

/* An upload in progress: no request can name it, no listing shows it. */
static void test_reserved(void)
{
	int refusal;
	mount_fresh();
	struct http_put *p = put_begin("/up.bin", 10, &refusal);
	CHECK(p != 0);
	char tmp[EFS_PATH_MAX + 1];
	snprintf(tmp, sizeof(tmp), "%s", temp_of_root());
	CHECK(tmp[0] != 0);
	char sub[EFS_PATH_MAX + 8];
	snprintf(sub, sizeof(sub), "%s/x", tmp);
	CHECK_INT(answer("GET", tmp), 404);
	CHECK_INT(answer("HEAD", tmp), 404);
	CHECK_INT(answer("DELETE", tmp), 404);
	CHECK_INT(answer("MKCOL", tmp), 403);
	CHECK_INT(answer("GET", sub), 404);
	CHECK(put_begin(tmp, 1, &refusal) == 0);
	CHECK_INT(refusal, 403);
	CHECK(put_begin("/d/.umbra-put-0123456789abcdef", 1, &refusal) == 0);
	CHECK_INT(refusal, 403);
	CHECK(exists(tmp));
	for (int json = 0; json < 2; json++) {
		struct http_resp o;
		ask("GET", "/", 0);
		req.wants_json = json;
		http_answer(&site, &req, &o);
		CHECK_INT(o.status, 200);
		CHECK(o.mem && !has(o.mem, o.len, HTTP_TEMP_PREFIX));
		free(o.mem);
	}
	CHECK_INT(http_put_data(p, "0123456789", 10), 0);
	CHECK_INT(put_end(p, 1, 0, 0), 201);
	CHECK(holds("/up.bin", "0123456789", 10));
	unmount();
}

/* The temporary file deleted under the upload, and its inode slot
 * taken by a new file: the upload fails (500) and never writes through
 * its stale inode into the new file. */
static void test_temp_deleted(void)
{
	static uint8_t body[600 * 1024];
	int refusal;
	char why[160];
	mount_fresh();
	fill(body, sizeof(body), 3);
	struct http_put *p = put_begin("/t.bin", sizeof(body), &refusal);
	CHECK(p != 0);
	if (!p)
		return;
	CHECK_INT(http_put_data(p, body, 300 * 1024), 0);	/* one write */
	char tmp[EFS_PATH_MAX + 1];
	snprintf(tmp, sizeof(tmp), "%s", temp_of_root());
	uint32_t old, victim;
	CHECK_INT(efs_lookup(site.fs, tmp, 0, &old), 0);
	CHECK_INT(efs_unlink(site.fs, tmp), 0);
	CHECK_INT(efs_create(site.fs, "/victim", 0644, &victim), 0);
	CHECK_INT(efs_write(site.fs, victim, 0, "mine", 4), 4);
	printf("temporary inode %u, the new file's %u\n", old, victim);
	CHECK_INT(http_put_data(p, body + 300 * 1024, 300 * 1024), 500);
	CHECK_INT(put_end(p, 1, why, sizeof(why)), 500);
	CHECK_STR(why, "the upload's temporary file changed under it");
	CHECK(holds("/victim", "mine", 4));
	CHECK(!exists("/t.bin"));
	CHECK_STR(temp_of_root(), "");
	unmount();
}

/* The temporary file replaced (same name, other content) between the
 * last piece and the rename: 500, the target is not created, and what
 * stands at the temporary name now is not this upload's to remove. */
static void test_temp_replaced(void)
{
	int refusal;
	char why[160];
	mount_fresh();
	struct http_put *p = put_begin("/r.bin", 5, &refusal);
	CHECK(p && !http_put_data(p, "hello", 5));
	if (!p)
		return;
	char tmp[EFS_PATH_MAX + 1];
	snprintf(tmp, sizeof(tmp), "%s", temp_of_root());
	uint32_t other;
	CHECK_INT(efs_unlink(site.fs, tmp), 0);
	CHECK_INT(efs_create(site.fs, tmp, 0644, &other), 0);
	CHECK_INT(efs_write(site.fs, other, 0, "someone else", 12), 12);
	CHECK_INT(put_end(p, 1, why, sizeof(why)), 500);
	CHECK(!exists("/r.bin"));
	CHECK(holds(tmp, "someone else", 12));
	unmount();
}

/* The target changed while the body arrived: replaced, removed, or
 * created. The upload fails with 409 and leaves the other request's
 * result alone; no temporary file is left. */
static void test_target_changed(void)
{
	int refusal;
	for (int how = 0; how < 3; how++) {
		mount_fresh();
		uint32_t ino;
		if (how < 2) {	/* the target exists when the upload begins */
			CHECK_INT(efs_create(site.fs, "/t.txt", 0644, &ino), 0);
			CHECK_INT(efs_write(site.fs, ino, 0, "old", 3), 3);
		}
		struct http_put *p = put_begin("/t.txt", 3, &refusal);
		CHECK(p && !http_put_data(p, "new", 3));
		if (!p)
			continue;
		if (how == 0) {		/* another upload replaced it */
			struct http_put *q = put_begin("/t.txt", 5, &refusal);
			CHECK(q && !http_put_data(q, "other", 5));
			if (q)
				CHECK_INT(put_end(q, 1, 0, 0), 204);
		} else if (how == 1) {	/* DELETE */
			CHECK_INT(answer("DELETE", "/t.txt"), 204);
		} else {		/* MKCOL of its name */
			CHECK_INT(answer("MKCOL", "/t.txt"), 201);
		}
		CHECK_INT(put_end(p, 1, 0, 0), 409);
		if (how == 0)
			CHECK(holds("/t.txt", "other", 5));
		if (how == 1)
			CHECK(!exists("/t.txt"));
		if (how == 2)
			CHECK(exists("/t.txt") && !holds("/t.txt", "new", 3));
		CHECK_STR(temp_of_root(), "");
		unmount();
	}
}

/* A disk that refuses a write: 500 with the volume's words, nothing
 * left behind. */
static void test_disk_error(void)
{
	static uint8_t body[300 * 1024];
	int refusal;
	char why[160];
	mount_fresh();
	struct http_put *p = put_begin("/e.bin", sizeof(body), &refusal);
	CHECK(p != 0);
	if (!p)
		return;
	dev.fail_write_at = dev.writes;
	CHECK_INT(http_put_data(p, body, sizeof(body)), 500);
	CHECK_INT(put_end(p, 1, why, sizeof(why)), 500);
	CHECK_STR(why, efs_strerror(EFS_ERR_IO));
	CHECK(!exists("/e.bin"));
	unmount_failed();
}

int main(int argc, char **argv)
{
	check_args(argc, argv);
	RUN(test_whole);
	RUN(test_reserved);
	RUN(test_temp_deleted);
	RUN(test_temp_replaced);
	RUN(test_target_changed);
	RUN(test_disk_error);
	return check_done();
}
