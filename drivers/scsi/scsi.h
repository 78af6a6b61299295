/* SCSI for host bus adapters: the commands umbra sends (SPC-4, SBC-3,
 * MMC-6 for CD/DVD units), what a completed command means for the block
 * layer (status and sense data), and the bring-up of one direct-access or
 * CD/DVD logical unit. Independent of the transport: a driver (virtio-scsi,
 * and ATAPI on AHCI and IDE) hands in a way to run one command and gets
 * the unit's geometry back; nothing here touches memory a device writes
 * except through the buffers it is given. */
#ifndef UMBRA_SCSI_H
#define UMBRA_SCSI_H

#include <stddef.h>
#include <stdint.h>

#define SCSI_CDB_MAX 16		/* the longest CDB umbra builds */
#define SCSI_SENSE_MAX 252	/* sense bytes kept (SPC-4 §4.5.1) */
#define SCSI_LUNS_MAX 64	/* per target, from REPORT LUNS */

/* SAM-5 §5.3.1 status codes */
#define SCSI_GOOD 0x00
#define SCSI_CHECK_CONDITION 0x02
#define SCSI_BUSY 0x08
#define SCSI_RESERVATION_CONFLICT 0x18
#define SCSI_TASK_SET_FULL 0x28

/* SPC-4 §4.5.6 sense keys umbra acts on */
#define SCSI_KEY_NO_SENSE 0x0
#define SCSI_KEY_RECOVERED 0x1
#define SCSI_KEY_NOT_READY 0x2
#define SCSI_KEY_MEDIUM_ERROR 0x3
#define SCSI_KEY_ILLEGAL_REQUEST 0x5
#define SCSI_KEY_UNIT_ATTENTION 0x6
#define SCSI_KEY_DATA_PROTECT 0x7
#define SCSI_KEY_ABORTED_COMMAND 0xb

/* How the HBA delivered a command, apart from the SCSI status. */
enum scsi_host {
	SCSI_HOST_OK = 0,	/* delivered; status is the target's */
	SCSI_HOST_NO_TARGET,	/* no such target (a scan goes on) */
	SCSI_HOST_RETRY,	/* busy, reset or aborted: worth again */
	SCSI_HOST_FAILED,	/* the HBA could not deliver it */
};

/* One completed command, as the HBA reports it. resid: bytes of the
 * data buffer not transferred (the HBA has checked it against the
 * buffer); sense: sense_len bytes (checked against SCSI_SENSE_MAX). */
struct scsi_result {
	uint8_t host;		/* enum scsi_host */
	uint8_t status;
	uint32_t resid;
	uint32_t sense_len;
	uint8_t sense[SCSI_SENSE_MAX];
	const char *host_why;	/* the HBA's words when host != OK */
};

/* Decoded sense data (SPC-4 §4.5.2 descriptor, §4.5.3 fixed format). */
struct scsi_sense {
	uint8_t key, asc, ascq;
};

/* Parses len bytes of sense data; 0, or -1 when they are too short or
 * of a format SPC-4 does not define. */
int scsi_sense_parse(const uint8_t *s, uint32_t len, struct scsi_sense *out);

/* A completed command for the block layer: 0, or a BLK_ERR_* with the
 * words for it in why ("medium error: unrecovered read error (sense key
 * 3, ASC/ASCQ 11/00)"). A recovered error is success. */
int scsi_result_error(const struct scsi_result *r, char *why, size_t n);

/* Whether the command is worth sending again as it is: a unit attention
 * (SPC-4 §5.14: the next command is not refused for it), BUSY, TASK SET
 * FULL, or an HBA that asks for a retry. */
int scsi_result_retry(const struct scsi_result *r);

/* CDB builders; each returns the CDB's length. */
unsigned scsi_cdb_rw(uint8_t *cdb, int write, uint64_t lba, uint32_t count);
unsigned scsi_cdb_sync(uint8_t *cdb);
/* UNMAP (SBC-3 §5.28) of [lba, lba + count) as one descriptor: param
 * receives the 24-byte parameter list the CDB announces. */
unsigned scsi_cdb_unmap(uint8_t *cdb, uint8_t *param, uint64_t lba,
			uint32_t count);
#define SCSI_UNMAP_PARAM 24

/* Runs one command on one logical unit and waits, bounded. write: buf
 * goes to the device (else it comes from it; len 0 for none). Returns 0
 * with r filled when the command completed (whatever its status), or a
 * negative BLK_ERR_* when the HBA itself failed (why says how). */
struct scsi_exec {
	int (*run)(void *ctx, const uint8_t *cdb, unsigned cdb_len, void *buf,
		   uint32_t len, int write, struct scsi_result *r);
	void *ctx;
	void *buf;		/* 4096 bytes of DMA memory for the probe */
	const char *why;	/* the HBA's words after a failure */
};

/* SPC-4 §6.6.2 peripheral device types umbra drives */
#define SCSI_TYPE_DISK 0x00	/* direct access (SBC-3) */
#define SCSI_TYPE_CD 0x05	/* CD/DVD (MMC-6): read-only here */

/* What scsi_disk_probe learnt of a direct-access or CD/DVD unit. */
struct scsi_disk {
	uint8_t type;		/* SCSI_TYPE_* */
	char vendor[9], product[17], serial[37];
	uint32_t block_size;
	uint64_t blocks;	/* saturates: a last LBA of all ones stays */
	uint32_t max_blocks;	/* per command (Block Limits); 0: none said */
	uint32_t max_unmap;	/* blocks per UNMAP; 0: no UNMAP */
	uint8_t read_only;	/* MODE SENSE WP */
	uint8_t write_cache;	/* caching page WCE */
	uint8_t cache_known;	/* the caching page was there */
	char why[112];		/* why the unit cannot be used */
};

#define SCSI_NOT_DISK 1		/* another kind of unit */
#define SCSI_NO_MEDIUM 2	/* a CD/DVD drive with no disc in it */

/* Brings up the unit x->run talks to: INQUIRY (SPC-4 §6.6; a
 * direct-access or CD/DVD device, qualifier 0; else SCSI_NOT_DISK), TEST
 * UNIT READY until ready (unit attentions cleared, "becoming ready"
 * waited for, bounded; a CD/DVD unit with no medium: SCSI_NO_MEDIUM),
 * READ CAPACITY(16) or
 * (10) (logical blocks of 512, 1024, 2048 or 4096 bytes); for a disk the
 * VPD pages (serial, Block Limits, Logical Block Provisioning) and MODE
 * SENSE (write protect, write cache); a CD/DVD unit is read-only (MMC-6
 * units answer neither MODE SENSE(6) nor the SBC pages). 0,
 * SCSI_NOT_DISK, SCSI_NO_MEDIUM, or a negative BLK_ERR_* with d->why. */
int scsi_disk_probe(struct scsi_exec *x, struct scsi_disk *d);

/* REQUEST SENSE (SPC-4 §6.29) in cdb: for transports whose device keeps
 * the sense data until asked (ATAPI), with alloc bytes wanted. */
unsigned scsi_cdb_request_sense(uint8_t *cdb, uint8_t alloc);

/* REPORT LUNS (SPC-4 §6.33) on the target x->run addresses: up to max
 * single-level LUN numbers (peripheral or flat addressing, SAM-5 §4.7)
 * into luns. Returns the count, -1 when the target does not support the
 * command (then LUN 0 is the one to try), or SCSI_NO_TARGET. */
#define SCSI_NO_TARGET (-2)
int scsi_report_luns(struct scsi_exec *x, uint16_t *luns, int max);

#endif
