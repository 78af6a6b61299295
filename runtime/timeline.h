/* The boot timeline: a TSC stamp per stage, printed as
 * "timeline: efi_main=0us exit_bs=...us ... app_ready=...us". Each stage
 * also writes its code to I/O port 0x80, the POST-code port that boot
 * tracing tools watch. */
#ifndef UMBRA_TIMELINE_H
#define UMBRA_TIMELINE_H

#include <stdint.h>

enum timeline_stage {
	TIMELINE_EFI_MAIN,	/* first instruction of the entry (efi_main
				 * or the PVH entry) */
	TIMELINE_EXIT_BS,	/* ExitBootServices returned */
	TIMELINE_RUNTIME,	/* allocator, paging, IDT, clock ready */
	TIMELINE_PCI,		/* PCI enumerated */
	TIMELINE_BLK,		/* block devices probed */
	TIMELINE_MOUNT,		/* root volume mounted (or found absent) */
	TIMELINE_SCREEN,	/* screen and keyboards found */
	TIMELINE_APP_READY,	/* the app is about to take commands */
	TIMELINE_NET,		/* on a cloud: the network up for its
				 * metadata (absent everywhere else) */
	TIMELINE_METADATA,	/* ... and its user data asked for */
	TIMELINE_STAGES
};

/* Names the first stage after the entry that ran ("efi_main" unless
 * told otherwise). */
void timeline_name_entry(const char *name);

/* Writes the stage's POST code (0xu0 + stage) to port 0x80. */
void timeline_post(enum timeline_stage s);

/* Records the stage at TSC value tsc (and posts its code). */
void timeline_mark_at(enum timeline_stage s, uint64_t tsc);

/* Records the stage now. */
void timeline_mark(enum timeline_stage s);

/* Microseconds from the entry to stage s, or -1 if s was not reached. */
int64_t timeline_us(enum timeline_stage s);

/* Formats the timeline line (without a newline) into buf. */
void timeline_format(char *buf, unsigned size);

#endif
