/* Scratch images for the seed-drive reader tests; see seedimg.h. */
#include "seedimg.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char dir[64];

const char *seedimg_dir(void)
{
	if (!dir[0]) {
		strcpy(dir, "/tmp/umbra-seedimg.XXXXXX");
		if (!mkdtemp(dir)) {
			perror("mkdtemp");
			exit(2);
		}
	}
	return dir;
}

void seedimg_done(void)
{
	if (dir[0])
		seedimg_run("cd / && rm -rf '%s'", dir);
	dir[0] = 0;
}

int seedimg_have(const char *tool)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1 || "
		 "test -x /usr/sbin/%s -o -x /sbin/%s", tool, tool, tool);
	return system(cmd) == 0;
}

int seedimg_run(const char *fmt, ...)
{
	char cmd[4096], full[4300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "cd '%s' && PATH=$PATH:/usr/sbin:/sbin "
		 "&& (%s) >>log 2>&1", seedimg_dir(), cmd);
	int st = system(full);
	if (st)
		fprintf(stderr, "command failed (%d): %s\n", st, cmd);
	return st;
}

void seedimg_file(const char *rel, const void *data, size_t len)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", seedimg_dir(), rel);
	for (char *s = strchr(path + strlen(seedimg_dir()) + 1, '/'); s;
	     s = strchr(s + 1, '/')) {
		*s = 0;
		mkdir(path, 0755);
		*s = '/';
	}
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f)) {
		perror(path);
		exit(2);
	}
}

int seedimg_load(const char *rel, struct memdev *m)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", seedimg_dir(), rel);
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	memdev_init(m, (uint64_t)n);
	size_t got = fread(m->data, 1, (size_t)n, f);
	fclose(f);
	return got == (size_t)n ? 0 : -1;
}

void seedimg_pattern(uint8_t *p, size_t n, uint32_t seed)
{
	uint64_t s = seed * 2654435761u + 1;
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(memdev_rand(&s) >> 24);
}
