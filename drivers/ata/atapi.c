/* What ATAPI adds to SCSI; see atapi.h. */
#include "atapi.h"

#include <string.h>

#include "../../runtime/fmt.h"
#include "../blk.h"

unsigned atapi_packet(uint8_t *out, const uint8_t *cdb, unsigned clen)
{
	unsigned n = clen > ATAPI_PACKET_LEN ? 16 : ATAPI_PACKET_LEN;
	memset(out, 0, n);
	memcpy(out, cdb, clen < n ? clen : n);
	return n;
}

void atapi_check_condition(struct scsi_result *r, uint8_t error,
			   const uint8_t *sense, uint32_t got)
{
	struct scsi_sense k;
	r->host = SCSI_HOST_OK;
	r->status = SCSI_CHECK_CONDITION;
	if (got > SCSI_SENSE_MAX)
		got = SCSI_SENSE_MAX;
	if (sense && !scsi_sense_parse(sense, got, &k) && k.key) {
		memcpy(r->sense, sense, got);
		r->sense_len = got;
		return;
	}
	/* SPC-4 §4.5.3 fixed format with only the key known */
	memset(r->sense, 0, ATAPI_SENSE_LEN);
	r->sense[0] = 0x70;
	r->sense[2] = error >> 4;
	r->sense[7] = ATAPI_SENSE_LEN - 8;
	r->sense_len = ATAPI_SENSE_LEN;
}

void atapi_blk(struct blk_dev *b, const struct scsi_disk *d,
	       const char *where)
{
	fmt_snprintf(b->model, sizeof(b->model), "%s %s (%s)", d->vendor,
		     d->product, where);
	b->sector_size = d->block_size;
	b->sectors = d->blocks;
	b->read_only = d->read_only;
	b->can_flush = 0;
	b->can_discard = 0;
	b->cache = "none";
}
