/* The UEFI types that runtime/ calls: the console writes through the
 * Simple Text Output protocol until ExitBootServices, and power.c falls
 * back to the Runtime Services' ResetSystem (UEFI 2.10 chapter numbers
 * cited per table). boot/efi.h adds what only the UEFI entry uses. */
#ifndef UMBRA_UEFI_H
#define UMBRA_UEFI_H

#include <stddef.h>
#include <stdint.h>

typedef uint64_t efi_status;
typedef void *efi_handle;
typedef uint16_t efi_char16;

#define EFI_SUCCESS            0
#define EFI_ERROR_BIT          (1ull << 63)
#define EFI_INVALID_PARAMETER  (EFI_ERROR_BIT | 2)
#define EFI_UNSUPPORTED        (EFI_ERROR_BIT | 3)
#define EFI_BUFFER_TOO_SMALL   (EFI_ERROR_BIT | 5)

typedef struct {
	uint32_t d1;
	uint16_t d2, d3;
	uint8_t d4[8];
} efi_guid;

/* UEFI §4.2 */
typedef struct {
	uint64_t signature;
	uint32_t revision, header_size, crc32, reserved;
} efi_table_header;

/* UEFI §12.4 Simple Text Output Protocol (only OutputString used). */
typedef struct efi_text_out efi_text_out;
struct efi_text_out {
	efi_status (*reset)(efi_text_out *, uint8_t);
	efi_status (*output_string)(efi_text_out *, const efi_char16 *);
};

enum efi_reset_type { EFI_RESET_COLD, EFI_RESET_WARM, EFI_RESET_SHUTDOWN };

/* UEFI §8 Runtime Services table. */
typedef struct {
	efi_table_header hdr;
	void *get_time, *set_time, *get_wakeup_time, *set_wakeup_time;
	void *set_virtual_address_map, *convert_pointer;
	void *get_variable, *get_next_variable_name, *set_variable;
	void *get_next_high_monotonic_count;
	void (*reset_system)(int type, efi_status status, uint64_t size,
			     void *data);
} efi_runtime_services;

_Static_assert(offsetof(efi_runtime_services, reset_system) == 104,
	       "UEFI §4.5");

#endif
