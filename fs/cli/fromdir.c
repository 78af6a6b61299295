/* mkfs --from DIR: a host tree into a new image, in one dense pass. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hostio.h"

struct hnode {
	char *path;		/* on the host */
	const char *rel;	/* inside the tree, for ordering */
	const char *name;
	int depth;
	uint8_t kind;
	struct stat st;
	char *target;		/* symlinks */
	uint32_t parent;	/* index */
	uint32_t ino;
};

struct tree {
	struct hnode *v;
	uint32_t n, cap;
	int fd;			/* open file for the content callback */
	uint32_t fd_ino;
	struct hnode **by_ino;
	char *msg;
	size_t msglen;
};

static int add(struct tree *t, struct hnode h)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 256;
		struct hnode *v = realloc(t->v, t->cap * sizeof(*v));
		if (!v)
			return EFS_ERR_NO_MEMORY;
		t->v = v;
	}
	t->v[t->n++] = h;
	return 0;
}

static int walk(struct tree *t, uint32_t idx)
{
	DIR *d = opendir(t->v[idx].path);
	struct dirent *e;
	int err = 0;
	if (!d) {
		snprintf(t->msg, t->msglen, "%s: %s", t->v[idx].path,
			 strerror(errno));
		return EFS_ERR_IO;
	}
	while (!err && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		struct hnode h = { .parent = idx, .depth = t->v[idx].depth + 1 };
		if (asprintf(&h.path, "%s/%s", t->v[idx].path, e->d_name) < 0)
			return EFS_ERR_NO_MEMORY;
		h.name = strrchr(h.path, '/') + 1;
		if (lstat(h.path, &h.st)) {
			snprintf(t->msg, t->msglen, "%s: %s", h.path,
				 strerror(errno));
			err = EFS_ERR_IO;
			free(h.path);
			break;
		}
		if (S_ISDIR(h.st.st_mode)) {
			h.kind = EFS_DIR;
		} else if (S_ISREG(h.st.st_mode)) {
			h.kind = EFS_FILE;
		} else if (S_ISLNK(h.st.st_mode)) {
			h.kind = EFS_SYMLINK;
			h.target = calloc(1, EFS_PATH_MAX + 1);
			if (!h.target || readlink(h.path, h.target,
						  EFS_PATH_MAX) <= 0) {
				snprintf(t->msg, t->msglen, "%s: unreadable "
					 "link", h.path);
				err = EFS_ERR_IO;
			}
		} else {
			snprintf(t->msg, t->msglen, "%s: not a file, directory "
				 "or symlink (EclipseFS has no others)", h.path);
			err = EFS_ERR_UNSUPPORTED;
		}
		if (!err)
			err = add(t, h);
		if (!err && h.kind == EFS_DIR)
			err = walk(t, t->n - 1);
	}
	closedir(d);
	return err;
}

static size_t root_len;

static int cmp_order(const void *a, const void *b)
{
	const struct hnode *x = *(struct hnode *const *)a;
	const struct hnode *y = *(struct hnode *const *)b;
	/* Directories, then files, then symlinks (as populate-eclipsefs),
	 * each by depth, then path. */
	int kx = x->kind == EFS_DIR ? 0 : x->kind == EFS_FILE ? 1 : 2;
	int ky = y->kind == EFS_DIR ? 0 : y->kind == EFS_FILE ? 1 : 2;
	if (kx != ky)
		return kx - ky;
	if (x->depth != y->depth)
		return x->depth - y->depth;
	return strcmp(x->path + root_len, y->path + root_len);
}

static int cmp_child(const void *a, const void *b)
{
	return strcmp(((const struct efs_build_child *)a)->name,
		      ((const struct efs_build_child *)b)->name);
}

static int content(void *ctx, uint32_t ino, uint64_t off, void *buf,
		   size_t len)
{
	struct tree *t = ctx;
	struct hnode *h = t->by_ino[ino - 1];
	if (h->kind == EFS_SYMLINK) {
		memcpy(buf, h->target + off, len);
		return 0;
	}
	if (t->fd_ino != ino) {
		if (t->fd >= 0)
			close(t->fd);
		t->fd = open(h->path, O_RDONLY);
		t->fd_ino = ino;
		if (t->fd < 0)
			return -1;
	}
	return pread(t->fd, buf, len, (off_t)off) == (ssize_t)len ? 0 : -1;
}

static struct efs_build_node describe(const struct hnode *h)
{
	struct efs_build_node b = {
		.kind = h->kind,
		.mode = (h->kind == EFS_DIR ? 0040000u : h->kind == EFS_SYMLINK
			 ? 0120000u : 0100000u) | (h->st.st_mode & 07777),
		.nlink = h->kind == EFS_DIR ? 2 : 1,
		.atime = (uint64_t)h->st.st_atime,
		.mtime = (uint64_t)h->st.st_mtime,
		.ctime = (uint64_t)h->st.st_mtime,
		.size = h->kind == EFS_FILE ? (uint64_t)h->st.st_size
		      : h->kind == EFS_SYMLINK ? strlen(h->target) : 0,
	};
	return b;
}

int fromdir_build(const char *dir, const struct efs_io *io,
		  const struct efs_build_opts *opts, char *msg, size_t msglen)
{
	struct tree t = { .fd = -1, .msg = msg, .msglen = msglen };
	struct hnode root = { .kind = EFS_DIR };
	msg[0] = 0;
	if (stat(dir, &root.st) || !S_ISDIR(root.st.st_mode)) {
		snprintf(msg, msglen, "%s: not a directory", dir);
		return EFS_ERR_NOT_DIR;
	}
	root.path = strdup(dir);
	root_len = strlen(dir);
	int err = root.path ? add(&t, root) : EFS_ERR_NO_MEMORY;
	if (!err)
		err = walk(&t, 0);
	struct hnode **order = err ? 0 : malloc(t.n * sizeof(*order));
	struct efs_build_node *b = order ? calloc(t.n, sizeof(*b)) : 0;
	struct efs_build_child *kids = b ? calloc(t.n, sizeof(*kids)) : 0;
	if (!err && !kids)
		err = EFS_ERR_NO_MEMORY;
	if (!err) {
		for (uint32_t i = 0; i < t.n; i++)
			order[i] = &t.v[i];
		qsort(order + 1, t.n - 1, sizeof(*order), cmp_order);
		for (uint32_t i = 0; i < t.n; i++)
			order[i]->ino = i + 1;
		t.by_ino = order;
		/* Children of each directory, grouped, sorted by name. */
		uint32_t k = 0;
		for (uint32_t i = 0; i < t.n; i++) {
			b[i] = describe(order[i]);
			if (order[i]->kind != EFS_DIR)
				continue;
			uint32_t first = k, idx = (uint32_t)(order[i] - t.v);
			for (uint32_t j = 1; j < t.n; j++)
				if (t.v[j].parent == idx)
					kids[k++] = (struct efs_build_child){
						t.v[j].name, t.v[j].ino };
			qsort(kids + first, k - first, sizeof(*kids), cmp_child);
			b[i].children = kids + first;
			b[i].nchildren = k - first;
		}
		err = efs_build(io, opts, t.n, b, content, &t);
	}
	if (t.fd >= 0)
		close(t.fd);
	for (uint32_t i = 0; i < t.n; i++) {
		free(t.v[i].path);
		free(t.v[i].target);
	}
	free(t.v);
	free(order);
	free(b);
	free(kids);
	return err;
}
