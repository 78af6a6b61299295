/* The UEFI types and protocols the UEFI entry uses (UEFI 2.10 spec
 * chapter numbers cited per table), beside those runtime/ calls too
 * (runtime/uefi.h). Only the members we call are typed; the rest are
 * placeholders that keep the table layouts right. */
#ifndef UMBRA_EFI_H
#define UMBRA_EFI_H

#include <stddef.h>
#include <stdint.h>

#include "../runtime/uefi.h"

/* UEFI §7.2 memory types and descriptor. */
enum efi_memory_type {
	EFI_RESERVED_MEMORY, EFI_LOADER_CODE, EFI_LOADER_DATA,
	EFI_BOOT_SERVICES_CODE, EFI_BOOT_SERVICES_DATA,
	EFI_RUNTIME_SERVICES_CODE, EFI_RUNTIME_SERVICES_DATA,
	EFI_CONVENTIONAL_MEMORY, EFI_UNUSABLE_MEMORY,
	EFI_ACPI_RECLAIM_MEMORY, EFI_ACPI_MEMORY_NVS,
	EFI_MEMORY_MAPPED_IO, EFI_MEMORY_MAPPED_IO_PORT_SPACE,
	EFI_PAL_CODE, EFI_PERSISTENT_MEMORY,
};

typedef struct {
	uint32_t type;
	uint32_t pad;
	uint64_t physical_start;
	uint64_t virtual_start;
	uint64_t number_of_pages;
	uint64_t attribute;
} efi_memory_descriptor;

enum efi_allocate_type { EFI_ALLOCATE_ANY_PAGES, EFI_ALLOCATE_MAX_ADDRESS,
			 EFI_ALLOCATE_ADDRESS };

/* UEFI §7 Boot Services table, in spec order. */
typedef struct {
	efi_table_header hdr;
	void *raise_tpl, *restore_tpl;
	efi_status (*allocate_pages)(int type, int mem_type, uint64_t pages,
				     uint64_t *memory);
	efi_status (*free_pages)(uint64_t memory, uint64_t pages);
	efi_status (*get_memory_map)(uint64_t *size, efi_memory_descriptor *map,
				     uint64_t *key, uint64_t *desc_size,
				     uint32_t *desc_version);
	efi_status (*allocate_pool)(int mem_type, uint64_t size, void **buf);
	efi_status (*free_pool)(void *buf);
	void *create_event, *set_timer, *wait_for_event, *signal_event,
	     *close_event, *check_event;
	void *install_protocol_interface, *reinstall_protocol_interface,
	     *uninstall_protocol_interface;
	efi_status (*handle_protocol)(efi_handle, const efi_guid *, void **);
	void *reserved, *register_protocol_notify, *locate_handle,
	     *locate_device_path, *install_configuration_table;
	void *load_image, *start_image, *exit, *unload_image;
	efi_status (*exit_boot_services)(efi_handle, uint64_t map_key);
	void *get_next_monotonic_count, *stall;
	efi_status (*set_watchdog_timer)(uint64_t timeout, uint64_t code,
					 uint64_t data_size, efi_char16 *data);
	void *connect_controller, *disconnect_controller;
	void *open_protocol, *close_protocol, *open_protocol_information;
	void *protocols_per_handle, *locate_handle_buffer;
	efi_status (*locate_protocol)(const efi_guid *, void *registration,
				      void **interface);
} efi_boot_services;

typedef struct {
	efi_guid guid;
	void *table;
} efi_configuration_table;

/* UEFI §4.3 */
typedef struct {
	efi_table_header hdr;
	efi_char16 *firmware_vendor;
	uint32_t firmware_revision;
	efi_handle console_in_handle;
	void *con_in;
	efi_handle console_out_handle;
	efi_text_out *con_out;
	efi_handle standard_error_handle;
	efi_text_out *std_err;
	efi_runtime_services *runtime_services;
	efi_boot_services *boot_services;
	uint64_t number_of_table_entries;
	efi_configuration_table *configuration_table;
} efi_system_table;

/* UEFI §9.1 Loaded Image Protocol */
typedef struct {
	uint32_t revision;
	efi_handle parent_handle;
	efi_system_table *system_table;
	efi_handle device_handle;
	void *file_path;
	void *reserved;
	uint32_t load_options_size;
	void *load_options;
	void *image_base;
	uint64_t image_size;
	int image_code_type, image_data_type;
	void *unload;
} efi_loaded_image;

/* UEFI §12.9 Graphics Output Protocol: only the current mode is read. */
enum efi_gop_pixel_format {
	EFI_GOP_RGBX8, EFI_GOP_BGRX8, EFI_GOP_BITMASK, EFI_GOP_BLT_ONLY,
};

typedef struct {
	uint32_t version;
	uint32_t horizontal_resolution, vertical_resolution;
	uint32_t pixel_format;			/* enum efi_gop_pixel_format */
	uint32_t red_mask, green_mask, blue_mask, reserved_mask;
	uint32_t pixels_per_scan_line;
} efi_gop_mode_info;

typedef struct {
	uint32_t max_mode, mode;
	efi_gop_mode_info *info;
	uint64_t size_of_info;
	uint64_t frame_buffer_base, frame_buffer_size;
} efi_gop_mode;

typedef struct {
	void *query_mode, *set_mode, *blt;
	efi_gop_mode *mode;
} efi_gop;

#define EFI_GOP_GUID \
	{ 0x9042a9de, 0x23dc, 0x4a38, \
	  { 0x96, 0xfb, 0x7a, 0xde, 0xd0, 0x80, 0x51, 0x6a } }
#define EFI_LOADED_IMAGE_GUID \
	{ 0x5b1b31a1, 0x9562, 0x11d2, \
	  { 0x8e, 0x3f, 0x00, 0xa0, 0xc9, 0x69, 0x72, 0x3b } }
#define EFI_ACPI_20_TABLE_GUID \
	{ 0x8868e871, 0xe4f1, 0x11d3, \
	  { 0xbc, 0x22, 0x00, 0x80, 0xc7, 0x3c, 0x88, 0x81 } }
#define EFI_ACPI_10_TABLE_GUID \
	{ 0xeb9d2d30, 0x2d88, 0x11d3, \
	  { 0x9a, 0x16, 0x00, 0x90, 0x27, 0x3f, 0xc1, 0x4d } }
#define EFI_SMBIOS3_TABLE_GUID \
	{ 0xf2fd1544, 0x9794, 0x4a2c, \
	  { 0x99, 0x2e, 0xe5, 0xbb, 0xcf, 0x20, 0xe3, 0x94 } }
#define EFI_SMBIOS_TABLE_GUID \
	{ 0xeb9d2d31, 0x2d88, 0x11d3, \
	  { 0x9a, 0x16, 0x00, 0x90, 0x27, 0x3f, 0xc1, 0x4d } }

_Static_assert(sizeof(efi_memory_descriptor) == 40, "UEFI §7.2");
_Static_assert(offsetof(efi_system_table, configuration_table) == 112,
	       "UEFI §4.3");
_Static_assert(offsetof(efi_boot_services, exit_boot_services) == 232,
	       "UEFI §4.4");
_Static_assert(offsetof(efi_boot_services, locate_protocol) == 320,
	       "UEFI §4.4");
_Static_assert(sizeof(efi_gop_mode_info) == 36, "UEFI §12.9");
_Static_assert(offsetof(efi_gop_mode, frame_buffer_base) == 24,
	       "UEFI §12.9");

#endif
