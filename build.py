#!/usr/bin/env python3
"""Writes build.ninja, umbra's build, from one list of sources per room.

./configure runs it (after writing config.ninja, which build.ninja
includes); build.ninja runs it again when this file changes. Each source
is named once here: the image's objects, the host objects the tests and
the eclipsefs tool link, and the fuzz targets' objects are derived from
these lists.

  ninja            build/umbra.efi and build/umbra.elf (the same objects,
                   for PVH loaders), the host tool and the tests
  ninja run        boot the appliance under QEMU on the default image
  ninja test       every test suite; ends with "N passed, N failed"
  ninja bench      boot, disk and network figures (never part of tests)
  ninja fuzz       run the fuzz targets for longer
  ninja image      build/umbra.img, the default disk image
"""

import os
import sys

# --- the sources ---------------------------------------------------------

RUNTIME = """acpi acpi_dev cmdline console cpu isr.S fmt fwcfg heap idle irq
page paging panic pci pci_irq power random rtc smbios sort start string
time timeline fbcon kbd"""

# Made at build time (in $builddir/gen): the screen console's font, from
# the PSF file configure found (Debian's console-setup-linux).
GENERATED = "gen/font"

DRIVERS = """blk blk_bytes net virtio/virtio virtio/virtio_pci
virtio/virtio_mmio virtio/virtq virtio/virtio_blk virtio/virtio_scsi
virtio/virtio_scsi_scan scsi/scsi virtio/virtio_net virtio/virtio_rng
virtio/virtio_gpu virtio/virtio_input virtio/virtio_console
virtio/virtio_console_port ps2/i8042 ata/ata ata/atapi ata/ide
ata/ide_dma ata/ide_atapi ata/ahci ata/ahci_atapi nvme/nvme"""

# EclipseFS: portable C, in the image, on the host and in the fuzz targets.
EFS = """efs_alloc efs_build efs_cache efs_free efs_compact efs_fsck
efs_mount efs_names efs_node efs_table efs_util efs_write"""
# Read-only ISO 9660 and FAT for seed drives (NoCloud, config-2).
SEEDFS = "seedfs iso9660 fat"
FS = EFS + " gpt " + SEEDFS

APP = """main loop shell line cmd_sys app_fs cmd_read cmd_change cmd_volume
storage seed userdata cmd_bench cmd_compact screen http/http_parse
http/http_fields http/http_chunked http/http_files http/http_list
http/http_put net/gso net/dhcpopt cloud/cloud cloud/cloud_id cloud/hresp
cloud/b64 cloud/jstr cmd_agent agent/agent agent/agent_cmds agent/jw
agent/qga net/tls_creds"""

# Sources that need more than their room's flags: extra compiler flags,
# and what they wait for (jsmn, the guest agent's JSON tokenizer, is
# Debian's libjsmn-dev header, copied into a directory of its own so that
# the image's include path gains nothing else of the host's).
EXTRA = {
    "app/agent/qga": ("$jsmn_inc", "$builddir/jsmn/jsmn.h"),
    # BearSSL's headers (a library's: runtime and app alike): the
    # generator's ChaCha20, sha256's SHA-256, TLS; lwIP's for the TLS
    # layer and its tests.
    "runtime/random": ("$bearssl_inc", ""),
    "app/cmd_read": ("$bearssl_inc", ""),
    "app/net/tls_creds": ("$bearssl_inc", ""),
    "app/net/altcp_tls": ("$lwip_inc $bearssl_inc", ""),
    "app/http/http_tls": ("$bearssl_inc", ""),
    "app/http/http_serve": ("$bearssl_inc", ""),
    "tests/host/tls_fake": ("$lwip_inc $bearssl_inc", ""),
    "tests/host/test_tls": ("$lwip_inc $bearssl_inc", ""),
    "tests/fuzz/fuzz_tls": ("$lwip_inc $bearssl_inc", ""),
}

# App files that use lwIP's headers.
APP_LWIP = """cmd_net net/inet net/inet_route net/inet_addr http/http_serve
http/http_conn http/http_send http/http_queue cloud/hclient net/altcp_tls
http/http_tls"""

# lwIP's core (src/ of Debian's source package lwip): IPv4, ARP, ICMP,
# UDP, TCP, DHCP, DNS (raw API, NO_SYS); IPv6 with SLAAC, ICMPv6, ND,
# MLD and stateless DHCPv6; the altcp layer over TCP.
LWIP = """core/def core/dns core/inet_chksum core/init core/ip core/mem
core/memp core/netif core/pbuf core/raw core/tcp core/tcp_in core/tcp_out
core/timeouts core/udp core/ipv4/dhcp core/ipv4/etharp core/ipv4/icmp
core/ipv4/ip4 core/ipv4/ip4_addr netif/ethernet core/ipv6/dhcp6
core/ipv6/ethip6 core/ipv6/icmp6 core/ipv6/inet6 core/ipv6/ip6
core/ipv6/ip6_addr core/ipv6/mld6 core/ipv6/nd6 core/altcp
core/altcp_tcp"""

# BearSSL (src/ of Debian's source package bearssl): what a TLS 1.2
# server needs (ECDHE, AES-GCM, ChaCha20-Poly1305; ECDSA and RSA keys),
# PEM and key decoding, SHA-2, ChaCha20. Only what is referenced is
# linked (/opt:ref).
BEARSSL = """ssl/ssl_engine ssl/ssl_engine_default_aesgcm
ssl/ssl_engine_default_chapol ssl/ssl_hashes ssl/ssl_hs_server ssl/ssl_lru
ssl/ssl_rec_chapol ssl/ssl_rec_gcm ssl/ssl_scert_single_ec
ssl/ssl_scert_single_rsa ssl/ssl_server ssl/prf ssl/prf_sha256
ssl/prf_sha384 symcipher/aes_ct64 symcipher/aes_ct64_ctr
symcipher/aes_ct64_enc symcipher/aes_x86ni symcipher/aes_x86ni_ctr
symcipher/chacha20_ct symcipher/chacha20_sse2 symcipher/poly1305_ctmul
symcipher/poly1305_ctmulq hash/ghash_ctmul64 hash/ghash_pclmul
hash/multihash hash/sha2big hash/sha2small mac/hmac rand/hmac_drbg
rand/sysrng codec/ccopy codec/dec32be codec/dec32le codec/dec64be
codec/enc32be codec/enc32le codec/enc64be codec/pemdec ec/ec_all_m31
ec/ec_c25519_m31 ec/ec_p256_m31 ec/ec_prime_i31 ec/ec_pubkey
ec/ec_secp256r1 ec/ec_secp384r1 ec/ec_secp521r1 ec/ecdsa_i31_bits
ec/ecdsa_i31_sign_asn1 ec/ecdsa_i31_sign_raw ec/ecdsa_rta int/i31_add
int/i31_bitlen int/i31_decmod int/i31_decode int/i31_decred int/i31_encode
int/i31_fmont int/i31_iszero int/i31_modpow int/i31_montmul int/i31_mulacc
int/i31_muladd int/i31_ninv31 int/i31_reduce int/i31_rshift int/i31_sub
int/i31_tmont int/i32_div32 int/i62_modpow2 rsa/rsa_default_pkcs1_sign
rsa/rsa_default_pkcs1_vrfy rsa/rsa_default_priv rsa/rsa_i62_pkcs1_sign
rsa/rsa_i62_pkcs1_vrfy rsa/rsa_i62_priv rsa/rsa_i62_pub
rsa/rsa_pkcs1_sig_pad rsa/rsa_pkcs1_sig_unpad rsa/rsa_ssl_decrypt
x509/skey_decoder x509/x509_decoder"""
# ... and on the host, a client for the tests to shake hands with.
BEARSSL_HOST = """ec/ecdsa_atr ec/ecdsa_i31_vrfy_asn1 ec/ecdsa_i31_vrfy_raw
rsa/rsa_default_pub ssl/ssl_client ssl/ssl_client_default_rsapub
ssl/ssl_engine_default_ecdsa ssl/ssl_engine_default_rsavrfy
ssl/ssl_hs_client x509/x509_knownkey x509/x509_minimal ec/ec_keygen"""

# The hot paths, compiled for speed (-O2) where the rest is compiled for
# size: the virtqueues and the virtio drivers, the block engine and its
# byte copies, memcpy, the network glue and segment coalescing (gso.c),
# lwIP's checksum, pbufs, pools
# and TCP, and BearSSL's bulk ciphers, MACs, record layers and engine
# (what every byte of HTTPS passes). lwIP's checksum runs 5.5 times
# faster at -O2 (1.6 -> 9 GB/s natively). A handshake's curve work (P-256,
# X25519, once per connection) stays compiled for size: at -O2 it was
# 1.55 times faster natively but 16 KiB larger, which the 512 KiB image
# budget needs for the rest of this wave.
HOT = """drivers/virtio/virtq drivers/virtio/virtio_net
drivers/virtio/virtio_blk drivers/net drivers/blk drivers/blk_bytes
runtime/string app/net/inet app/net/gso app/net/altcp_tls
lwip/core/inet_chksum lwip/core/tcp_out lwip/core/tcp_in lwip/core/pbuf
lwip/core/ipv4/ip4 lwip/core/mem lwip/core/memp
bearssl/symcipher/aes_ct64 bearssl/symcipher/aes_ct64_ctr
bearssl/symcipher/aes_ct64_enc bearssl/symcipher/aes_x86ni
bearssl/symcipher/aes_x86ni_ctr bearssl/symcipher/chacha20_ct
bearssl/symcipher/chacha20_sse2 bearssl/symcipher/poly1305_ctmul
bearssl/symcipher/poly1305_ctmulq bearssl/hash/ghash_ctmul64
bearssl/hash/ghash_pclmul bearssl/hash/sha2small
bearssl/ssl/ssl_rec_chapol bearssl/ssl/ssl_rec_gcm bearssl/ssl/ssl_engine"""

# Host objects shared by several tests.
HOST_RUNTIME = "runtime/page runtime/fmt runtime/time runtime/acpi " \
    "tests/host/hostcon tests/host/hostirq"
BLK = "drivers/blk drivers/blk_bytes"
VIRTIO = "drivers/virtio/virtio drivers/virtio/virtq"

# Host test programs: their own sources, "@fs" for the fs library.
HOST_TESTS = {
    "test_fmt": "tests/host/test_fmt runtime/fmt",
    "test_page": "tests/host/test_page runtime/page",
    "test_string": "tests/host/test_string",
    "test_efs": "tests/host/test_efs tests/host/memdev tests/host/efs_util @fs",
    "test_efs_crash": "tests/host/test_efs_crash tests/host/memdev "
                      "tests/host/efs_util tests/host/churn @fs",
    "test_efs_corrupt": "tests/host/test_efs_corrupt tests/host/memdev "
                        "tests/host/efs_util @fs",
    "test_efs_churn": "tests/host/test_efs_churn tests/host/churn "
                      "tests/host/memdev @fs",
    "test_gpt": "tests/host/test_gpt @fs",
    # The seed drives' readers on images made by the real tools and by
    # hand; user data: what is refused, and metadata values.
    "test_seedfs_iso": "tests/host/test_seedfs_iso tests/host/seedimg "
                       "tests/host/memdev @fs",
    "test_seedfs_fat": "tests/host/test_seedfs_fat tests/host/seedimg "
                       "tests/host/memdev @fs",
    "test_userdata": "tests/host/test_userdata app/userdata",
    "test_virtq": f"tests/host/test_virtq tests/host/fakevirtio {BLK} "
                  f"{VIRTIO} drivers/virtio/virtio_blk {HOST_RUNTIME}",
    "test_blk": f"tests/host/test_blk {BLK} {HOST_RUNTIME}",
    # The drivers against hostile device models on fake PCI functions;
    # the models run on threads.
    "test_hostile": f"tests/host/test_hostile tests/host/fakepci "
                    f"tests/host/emu_nvme tests/host/emu_ahci "
                    f"tests/host/emu_vblk tests/host/emu_ring "
                    f"tests/host/dmamem {BLK} {VIRTIO} "
                    f"drivers/virtio/virtio_pci drivers/virtio/virtio_blk "
                    f"drivers/nvme/nvme drivers/ata/ata drivers/ata/atapi "
                    f"drivers/scsi/scsi drivers/ata/ahci "
                    f"drivers/ata/ahci_atapi drivers/ata/ide "
                    f"drivers/ata/ide_dma drivers/ata/ide_atapi "
                    f"{HOST_RUNTIME}",
    "test_virtio_mmio": f"tests/host/test_virtio_mmio "
                        f"drivers/virtio/virtio_mmio drivers/virtio/virtio "
                        f"runtime/acpi_dev runtime/cmdline drivers/blk "
                        f"{HOST_RUNTIME}",
    "test_pvh": "tests/host/test_pvh boot/pvh",
    # virtio-scsi against an HBA model on a transport of its own.
    "test_vscsi": f"tests/host/test_vscsi tests/host/emu_vscsi "
                  f"tests/host/emu_ring tests/host/dmamem drivers/scsi/scsi "
                  f"drivers/virtio/virtio_scsi drivers/virtio/virtio_scsi_scan "
                  f"{VIRTIO} {BLK} {HOST_RUNTIME}",
    # virtio-net against a device played by the test.
    "test_vnet": f"tests/host/test_vnet tests/host/fakevirtio "
                 f"tests/host/dmamem drivers/net drivers/virtio/virtio_net "
                 f"{VIRTIO} runtime/random @bearssl {HOST_RUNTIME}",
    # TCP segments gathered for the device to segment (app/net/gso.c)
    # over virtio-net, against a device that segments as a host does.
    "test_gso": f"tests/host/test_gso tests/host/fakevirtio "
                f"tests/host/dmamem app/net/gso drivers/net "
                f"drivers/virtio/virtio_net {VIRTIO} runtime/random "
                f"@bearssl {HOST_RUNTIME}",
    # The screen: virtio-gpu and the screen console against a device
    # played by the test, virtio-input keyboards, the keyboard layout.
    "test_screen": f"tests/host/test_screen tests/host/fakevirtio "
                   f"tests/host/dmamem drivers/virtio/virtio_gpu "
                   f"drivers/virtio/virtio_input {VIRTIO} runtime/fbcon "
                   f"runtime/kbd gen/font {HOST_RUNTIME}",
    # The HTTP request parser against hostile input.
    "test_http": "tests/host/test_http app/http/http_parse "
                 "app/http/http_fields app/http/http_chunked",
    # Uploads and the answers around them on a volume in RAM.
    "test_http_put": "tests/host/test_http_put app/http/http_put "
                     "app/http/http_files app/http/http_list "
                     "app/http/http_parse app/http/http_fields "
                     "app/http/http_chunked tests/host/memdev runtime/fmt "
                     "runtime/random @bearssl @fs",
    # Cloud configuration: SMBIOS tables, which cloud, HTTP responses,
    # base64, JSON; user-data formats; DHCP options 26 and 121.
    "test_cloud": "tests/host/test_cloud runtime/smbios app/cloud/cloud_id "
                  "app/cloud/b64 app/cloud/jstr app/cloud/hresp "
                  "app/http/http_chunked runtime/fmt",
    "test_dhcpopt": "tests/host/test_dhcpopt app/net/dhcpopt",
    # virtio-console (multiport) against a device played by the test; the
    # guest agent's protocol and JSON writer against hostile input.
    "test_vcon": f"tests/host/test_vcon tests/host/fakevirtio "
                 f"tests/host/dmamem drivers/virtio/virtio_console "
                 f"drivers/virtio/virtio_console_port {VIRTIO} "
                 f"{HOST_RUNTIME}",
    "test_qga": "tests/host/test_qga app/agent/qga app/agent/jw runtime/fmt",
    # The TLS layer over a TCP the test plays, against a BearSSL client;
    # keys and certificates made by openssl.
    "test_tls": "tests/host/test_tls tests/host/tls_fake app/net/altcp_tls "
                "app/net/tls_creds runtime/random tests/host/hostcon "
                "runtime/fmt @lwip @bearssl",
}
# Tests whose programs run threads.
THREADED = {"test_hostile"}

# Host tools: the eclipsefs tool, and efs-rules (the original readers'
# rules, for the QEMU tests).
HOST_TOOLS = {
    "eclipsefs": "fs/cli/eclipsefs fs/cli/hostio fs/cli/fromdir @fs",
    "efs-rules": "tests/host/rules tests/host/efs_util tests/host/memdev @fs",
}

# libFuzzer targets: their sources, compiled with the fuzzer's flags.
FUZZ = {
    "fuzz_efs": "tests/fuzz/fuzz_efs tests/host/memdev tests/host/efs_util "
                + " ".join("fs/" + f for f in EFS.split()),
    "fuzz_gpt": "tests/fuzz/fuzz_gpt fs/gpt fs/efs_util",
    "fuzz_http": "tests/fuzz/fuzz_http app/http/http_parse "
                 "app/http/http_fields app/http/http_chunked",
    "fuzz_seedfs": "tests/fuzz/fuzz_seedfs fs/seedfs fs/iso9660 fs/fat "
                   "fs/efs_util",
    "fuzz_cloud": "tests/fuzz/fuzz_cloud app/cloud/hresp app/cloud/jstr "
                  "app/cloud/b64 app/net/dhcpopt app/http/http_chunked",
    "fuzz_qga": "tests/fuzz/fuzz_qga app/agent/qga app/agent/jw runtime/fmt",
    # The TLS layer over a TCP the input plays; lwIP and BearSSL as the
    # host tests have them.
    "fuzz_tls": "tests/fuzz/fuzz_tls tests/host/tls_fake app/net/altcp_tls "
                "runtime/random @lwip @bearssl",
}

# --- the rules -------------------------------------------------------------

HEAD = r"""# Written by build.py (./configure runs it); edits are lost: change
# build.py. Targets: ninja (images, tool, tests), run, test, bench, fuzz,
# image.
ninja_required_version = 1.10
include config.ninja

builddir = build

# The image: PE32+ for UEFI, MS x64 ABI, linked straight to PE by lld-link.
# image_cflags are what every object of the image is compiled with; the
# optimisation level is per object: for size (-Os: the images have a
# 512 KiB budget, tests/image), and for speed on the hot paths (build.py,
# HOT), where an edge sets opt = -O2.
image_cflags = -target x86_64-unknown-windows -ffreestanding $
  -fno-builtin -nostdlibinc -isystem runtime/libc -mno-red-zone $
  -mno-stack-arg-probe -fno-omit-frame-pointer -fstack-protector-strong $
  -fno-delete-null-pointer-checks -ffunction-sections -fdata-sections $
  -Wno-unused-command-line-argument
opt = -Os
efi_cflags = $image_cflags -std=c11 -fshort-wchar $
  -Wall -Wextra -Werror -Wmissing-prototypes
efi_ldflags = /subsystem:efi_application /entry:efi_main /nodefaultlib $
  /opt:ref /guard:no /wholearchive
# The same objects for PVH loaders: linked at 1 MiB with no relocations,
# entered at pvh_start in 32-bit mode, wrapped as ELF64 by boot/pe2elf.
pvh_ldflags = /subsystem:efi_application /entry:pvh_start /nodefaultlib $
  /opt:ref /guard:no /wholearchive /base:0x100000 /fixed

# lwIP (its source fetched by ./configure --deps, never committed) and the
# app files that use it: umbra's port files (app/net/lwipopts.h,
# app/net/arch/cc.h) first on the include path. lwIP is third-party code:
# warnings are not errors there.
lwip_inc = -Iapp/net -I$lwip/src/include
lwip_cflags = $image_cflags -std=c11 $lwip_inc

# BearSSL (its source fetched by ./configure --deps from Debian's source
# package bearssl, never committed), for TLS and every hash and cipher
# umbra uses. clang defines _MSC_VER and _WIN32 for this target: BearSSL's
# MSVC paths go (-U_MSC_VER: it then takes its clang ones, x86intrin.h
# and cpuid.h, with the AES-NI, PCLMUL and SSE2 code in functions of
# their own target, chosen at run time by its CPUID checks: no -m flag
# widens what a whole file may use), and so do its operating-system
# sources of randomness and time: TLS entropy is injected from
# runtime/random.c, and the server validates no certificates.
bearssl_inc = -I$bearssl/inc
bearssl_cflags = $image_cflags -std=c99 -U_MSC_VER $
  -DBR_USE_URANDOM=0 -DBR_USE_UNIX_TIME=0 -DBR_USE_WIN32_RAND=0 $
  -DBR_USE_WIN32_TIME=0 -DBR_RDRAND=0 $bearssl_inc -I$bearssl/src

# Host code (fs/, tests, the eclipsefs tool): sanitizers on.
host_cflags = -std=c11 -g -O1 -D_DEFAULT_SOURCE -fno-omit-frame-pointer $
  -fsanitize=address,undefined -fno-sanitize-recover=all $
  -Wall -Wextra -Werror -Wmissing-prototypes
host_ldflags = -fsanitize=address,undefined
# lwIP and BearSSL on the host (third-party: no warnings as errors).
host_lib_cflags = -std=c11 -g -O1 -D_DEFAULT_SOURCE $
  -fno-omit-frame-pointer -fsanitize=address,undefined $
  -fno-sanitize-recover=all -w

# jsmn's header, copied beside nothing else (EXTRA).
jsmn_inc = -I$builddir/jsmn

# The fuzz targets: the same sources under libFuzzer.
fuzz_cflags = -std=c11 -g -O1 -D_DEFAULT_SOURCE $
  -fsanitize=fuzzer,address,undefined

rule configure
  command = ./configure
  generator = 1
  description = configure

rule buildgen
  command = $python build.py
  generator = 1
  description = build.py

rule efi_cc
  command = $cc $efi_cflags $opt -MMD -MF $out.d -c $in -o $out
  depfile = $out.d
  deps = gcc
  description = CC(efi) $in

rule lwip_cc
  command = $cc $lwip_cflags $opt -MMD -MF $out.d -c $in -o $out
  depfile = $out.d
  deps = gcc
  description = CC(lwIP) $in

rule bearssl_cc
  command = $cc $bearssl_cflags $opt -MMD -MF $out.d -c $in -o $out
  depfile = $out.d
  deps = gcc
  description = CC(BearSSL) $in

rule efi_link
  command = $lld_link $efi_ldflags /out:$out $in && $
    echo "$out: $$(wc -c < $out) bytes"
  description = LINK $out

# Every object but the entries, as one archive that both images take whole
# (/wholearchive keeps the object order, so umbra.efi's layout is that of
# a plain list of objects).
rule efi_lib
  command = $lld_link /lib /out:$out $in
  description = LIB $out

rule pvh_link
  command = $lld_link $pvh_ldflags /out:$out.pe $in && $
    $python boot/pe2elf $out.pe $out && echo "$out: $$(wc -c < $out) bytes"
  description = LINK(pvh) $out

rule host_cc
  command = $cc $host_cflags -MMD -MF $out.d -c $in -o $out
  depfile = $out.d
  deps = gcc
  description = CC(host) $in

rule host_lib_cc
  command = $cc $host_lib_cflags $lib_cflags -MMD -MF $out.d -c $in -o $out
  depfile = $out.d
  deps = gcc
  description = CC(host library) $in

rule host_link
  command = $cc $host_ldflags $in -o $out
  description = LINK(host) $out

# The library as one relocatable object, to link into the tool and tests.
rule host_merge
  command = $cc -r -nostdlib $in -o $out
  description = MERGE $out

rule fuzz_cc
  command = $cc $fuzz_cflags -MMD -MF $out.d -c $in -o $out
  depfile = $out.d
  deps = gcc
  description = CC(fuzz) $in

rule fuzz_link
  command = $cc -fsanitize=fuzzer,address,undefined $in -o $out
  description = FUZZ $out

# The screen console's font, from the PSF file configure found.
rule psf2c
  command = $python runtime/psf2c $in $out
  description = FONT $out

rule copy
  command = cp $in $out
  description = COPY $out

rule mkimage
  command = $python deploy/mkimage --efi $builddir/umbra.efi $
    --fs deploy/rootfs -o $out
  description = IMAGE $out

rule console
  command = $command
  description = $description
  pool = console

build build.ninja: buildgen | build.py config.ninja
build config.ninja: configure | configure
"""


def words(s):
    return s.split()


def src(path):
    """A source path without extension: .c unless it names its own;
    generated ones live in $builddir."""
    if path.startswith("gen/"):
        return f"$builddir/{path}.c"
    return path if "." in os.path.basename(path) else path + ".c"


def obj(flavour, path):
    base = path.rsplit(".", 1)[0] if "." in os.path.basename(path) else path
    return f"$builddir/{flavour}/{base}.o"


def extra(path, var):
    """The EXTRA flags and implicit inputs of a source, for the rule's
    flags variable var."""
    if path not in EXTRA:
        return [], []
    flags, needs = EXTRA[path]
    return [(var, f"${var} {flags}")], needs.split()


class Out:
    def __init__(self):
        self.lines = [HEAD]

    def __call__(self, line=""):
        self.lines.append(line)

    def build(self, outs, rule, ins, implicit=(), variables=()):
        line = f"build {outs}: {rule}"
        items = list(ins) + (["|"] + list(implicit) if implicit else [])
        for item in items:
            if len(line) + len(item) + 1 > 76:
                self(line + " $")
                line = "  " + item
            else:
                line += " " + item
        self(line)
        for k, v in variables:
            self(f"  {k} = {v}")


def hot(path):
    return [("opt", "-O2")] if path in words(HOT) else []


def image(o):
    o("# --- the image -------------------------------------------------------")
    objs = []
    for f in ["boot/efi_main", "boot/pvh_entry.S", "boot/pvh"]:
        o.build(obj("efi", f), "efi_cc", [src(f)])
    o.build("$builddir/gen/font.c", "psf2c", ["$font"],
            implicit=["runtime/psf2c"])
    o.build("$builddir/jsmn/jsmn.h", "copy", ["$jsmn"])
    for f in words(GENERATED):
        o.build(obj("efi", f), "efi_cc", [src(f)])
        objs.append(obj("efi", f))
    for room, names in (("runtime", RUNTIME), ("drivers", DRIVERS),
                        ("fs", FS), ("app", APP)):
        for n in words(names):
            p = f"{room}/{n}"
            var, needs = extra(p, "efi_cflags")
            o.build(obj("efi", p), "efi_cc", [src(p)], implicit=needs,
                    variables=var + hot(p))
            objs.append(obj("efi", p))
    for n in words(APP_LWIP):
        p = f"app/{n}"
        var, needs = extra(p, "efi_cflags")
        flags = var[0][1] if var else "$efi_cflags"
        o.build(obj("efi", p), "efi_cc", [src(p)], implicit=needs,
                variables=[("efi_cflags", f"{flags} $lwip_inc")] + hot(p))
        objs.append(obj("efi", p))
    for n in words(LWIP):
        out = f"$builddir/efi/lwip/{n}.o"
        o.build(out, "lwip_cc", [f"$lwip/src/{n}.c"],
                variables=hot(f"lwip/{n}"))
        objs.append(out)
    o()
    o.build("$builddir/efi/umbra.lib", "efi_lib", objs)
    ssl = []
    for n in words(BEARSSL):
        out = f"$builddir/efi/bearssl/{n}.o"
        o.build(out, "bearssl_cc", [f"$bearssl/src/{n}.c"],
                variables=hot(f"bearssl/{n}"))
        ssl.append(out)
    o.build("$builddir/efi/bearssl.lib", "efi_lib", ssl)
    o.build("$builddir/umbra.efi", "efi_link",
            [obj("efi", "boot/efi_main"), "$builddir/efi/umbra.lib",
             "$builddir/efi/bearssl.lib"])
    o.build("$builddir/umbra.elf | $builddir/umbra.elf.pe", "pvh_link",
            [obj("efi", "boot/pvh_entry"), obj("efi", "boot/pvh"),
             "$builddir/efi/umbra.lib", "$builddir/efi/bearssl.lib"],
            implicit=["boot/pe2elf"])
    o()


# What "@NAME" in a program's list links: a library as one relocatable
# object.
MERGED = {"@fs": "$builddir/host/fs.o", "@lwip": "$builddir/host/lwip.o",
          "@bearssl": "$builddir/host/bearssl.o"}


def host_objects(programs):
    """Every source the programs name (but the libraries), once each."""
    seen = []
    for parts in programs.values():
        for p in words(parts):
            if p not in MERGED and p not in seen:
                seen.append(p)
    return seen


def link_inputs(parts, flavour="host"):
    return [MERGED[p] if p in MERGED else obj(flavour, p)
            for p in words(parts)]


def host(o):
    o("# --- host: the fs library, the tools, the tests -----------------------")
    programs = dict(HOST_TOOLS)
    programs.update(HOST_TESTS)
    fs = ["fs/" + n for n in words(FS)]
    done = set()
    for p in fs + host_objects(programs):
        if p not in done:
            var, needs = extra(p, "host_cflags")
            o.build(obj("host", p), "host_cc", [src(p)], implicit=needs,
                    variables=var)
            done.add(p)
    o.build("$builddir/host/fs.o", "host_merge", [obj("host", p) for p in fs])
    lw = []
    for n in words(LWIP):
        out = f"$builddir/host/lwip/{n}.o"
        o.build(out, "host_lib_cc", [f"$lwip/src/{n}.c"],
                variables=[("lib_cflags", "$lwip_inc")])
        lw.append(out)
    o.build("$builddir/host/lwip.o", "host_merge", lw)
    ssl = []
    for n in words(BEARSSL) + words(BEARSSL_HOST):
        out = f"$builddir/host/bearssl/{n}.o"
        o.build(out, "host_lib_cc", [f"$bearssl/src/{n}.c"],
                variables=[("lib_cflags", "-DBR_USE_URANDOM=0 "
                            "-DBR_USE_UNIX_TIME=0 -DBR_RDRAND=0 "
                            "$bearssl_inc -I$bearssl/src")])
        ssl.append(out)
    o.build("$builddir/host/bearssl.o", "host_merge", ssl)
    o()
    for name, parts in HOST_TOOLS.items():
        o.build(f"$builddir/{name}", "host_link", link_inputs(parts))
    for name, parts in HOST_TESTS.items():
        var = [("host_ldflags", "-fsanitize=address,undefined -pthread")] \
            if name in THREADED else []
        o.build(f"$builddir/tests/{name}", "host_link", link_inputs(parts),
                variables=var)
    o()
    o.build("host_tests", "phony", [f"$builddir/tests/{n}" for n in
                                    HOST_TESTS] + ["$builddir/efs-rules"])
    o()


def fuzz(o):
    o("# --- fuzz targets (libFuzzer; configure's fuzz = yes) ------------------")
    targets = []
    for p in host_objects(FUZZ):
        var, needs = extra(p, "fuzz_cflags")
        o.build(obj("fuzz", p), "fuzz_cc", [src(p)], implicit=needs,
                variables=var)
    for name, parts in FUZZ.items():
        o.build(f"$builddir/fuzz/{name}", "fuzz_link",
                link_inputs(parts, "fuzz"))
        targets.append(f"$builddir/fuzz/{name}")
    o.build("fuzz_targets", "phony", targets)
    o.build("fuzz", "console", ["fuzz_targets", "$builddir/eclipsefs",
                                "tests/fuzz/suite"],
            variables=[("command", "FUZZ_SECONDS=600 $python "
                        "tests/fuzz/suite"), ("description", "FUZZ")])
    o()


def tail(o, with_fuzz):
    o("# --- images, run, test, bench ---------------------------------------")
    o.build("$builddir/umbra.img", "mkimage", ["$builddir/umbra.efi"],
            implicit=["deploy/mkimage", "deploy/umbra_deploy.py",
                      "$builddir/eclipsefs", "deploy/rootfs/etc/motd",
                      "deploy/rootfs/README.txt",
                      "deploy/rootfs/www/index.html"])
    o.build("image", "phony", ["$builddir/umbra.img"])
    o.build("run", "console", ["$builddir/umbra.img", "deploy/run"],
            variables=[("command", "$python deploy/run $builddir/umbra.img"),
                       ("description", "RUN")])
    o.build("$builddir/efi/tests/bench/floor.o", "efi_cc",
            ["tests/bench/floor.c"])
    o.build("$builddir/floor.efi", "efi_link",
            ["$builddir/efi/tests/bench/floor.o"])
    o.build("$builddir/efi/tests/bench/floor_pvh.o", "efi_cc",
            ["tests/bench/floor_pvh.S"])
    o.build("$builddir/floor.elf | $builddir/floor.elf.pe", "pvh_link",
            ["$builddir/efi/tests/bench/floor_pvh.o"],
            implicit=["boot/pe2elf"])
    bench_in = ["$builddir/umbra.efi", "$builddir/umbra.elf",
                "$builddir/eclipsefs", "$builddir/floor.efi",
                "$builddir/floor.elf", "tests/bench/run"]
    o.build("bench", "console", bench_in,
            variables=[("command", "$python tests/bench/run"),
                       ("description", "BENCH")])
    o.build("bench-quick", "console", bench_in,
            variables=[("command", "$python tests/bench/run --quick"),
                       ("description", "BENCH (quick)")])
    test_in = ["$builddir/umbra.efi", "$builddir/umbra.elf",
               "$builddir/umbra.img", "host_tests", "$builddir/eclipsefs",
               "$builddir/floor.efi", "$builddir/floor.elf", "tests/run-all"]
    if with_fuzz:
        test_in.append("fuzz_targets")
    o.build("test", "console", test_in,
            variables=[("command", "$python tests/run-all"),
                       ("description", "TEST")])
    o()
    o("default $builddir/umbra.efi $builddir/umbra.elf $builddir/eclipsefs "
      "host_tests")


def config_value(key):
    try:
        with open("config.ninja") as f:
            for line in f:
                k, _, v = line.partition("=")
                if k.strip() == key:
                    return v.strip()
    except OSError:
        pass
    return ""


def main():
    os.chdir(os.path.dirname(os.path.abspath(__file__)))
    with_fuzz = config_value("fuzz") == "yes"
    o = Out()
    image(o)
    host(o)
    if with_fuzz:
        fuzz(o)
    tail(o, with_fuzz)
    text = "\n".join(o.lines) + "\n"
    tmp = "build.ninja.tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, "build.ninja")
    return 0


if __name__ == "__main__":
    sys.exit(main())
