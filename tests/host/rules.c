/* efs-rules IMAGE [OFFSET]: checks an EclipseFS image (at OFFSET bytes in
 * the file) against the original readers' rules with the checker of the
 * host tests (efs_util.c, independent of fs/). Prints "rules: ok (N-byte
 * entries)" or "rules: WHY"; exit 0 or 1. For the QEMU tests. */
#include <stdio.h>
#include <stdlib.h>

#include "efs_util.h"

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: efs-rules IMAGE [OFFSET]\n");
		return 2;
	}
	FILE *f = fopen(argv[1], "rb");
	long off = argc == 3 ? atol(argv[2]) : 0;
	if (!f || fseek(f, 0, SEEK_END)) {
		perror(argv[1]);
		return 2;
	}
	long size = ftell(f) - off;
	uint8_t *img = size > 0 ? malloc((size_t)size) : 0;
	if (!img || fseek(f, off, SEEK_SET) ||
	    fread(img, 1, (size_t)size, f) != (size_t)size) {
		fprintf(stderr, "%s: cannot read\n", argv[1]);
		return 2;
	}
	fclose(f);
	char why[160];
	int w = original_rules(img, (uint64_t)size, why, sizeof(why));
	free(img);
	if (w < 0) {
		printf("rules: %s\n", why);
		return 1;
	}
	printf("rules: ok (%d-byte entries)\n", w);
	return 0;
}
