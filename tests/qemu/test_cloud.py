"""Cloud instance configuration: each cloud posed with -smbios (the PVH
kernel on q35, whose SeaBIOS passes QEMU's SMBIOS tables on; microvm has
none), its metadata server played by tests/qemu/mdserver.py behind
QEMU's user network (guestfwd to 169.254.169.254, restrict=on always),
the script it serves run and its effect checked; AWS's IMDSv2 tokens
refused, expired and not understood; hostile servers (slow, 500, a
redirect, an endless body, one over 1 MiB, bad base64, one that answers
only ARP, none) each ending in one line and /etc/rc; user data in
cloud-init's formats refused; no cloud: no network stage at all."""

import base64
import json
import os
import re
import subprocess

import harness
from harness import case, ud

HERE = os.path.dirname(os.path.abspath(__file__))
MDSERVER = os.path.join(HERE, "mdserver.py")
EFS = os.path.join(harness.BUILD, "eclipsefs")
MD = "169.254.169.254"
TIMEOUT = 180

POSE = {
    "GCE": ["type=1,manufacturer=Google,product=Google Compute Engine,"
            "serial=GoogleCloud-4A0E1C2B"],
    "AWS": ["type=1,manufacturer=Xen,product=HVM domU,"
            "uuid=ec2e1916-9099-7caf-fd21-012345abcdef"],
    "AWS Nitro": ["type=1,manufacturer=Amazon EC2,product=m5.large"],
    "OpenStack": ["type=1,manufacturer=OpenStack Foundation,"
                  "product=OpenStack Nova"],
    "DigitalOcean": ["type=1,manufacturer=DigitalOcean,product=Droplet"],
    "Hetzner": ["type=1,manufacturer=Hetzner,product=vServer"],
    "Oracle": ["type=3,manufacturer=QEMU,asset=OracleCloud.com"],
    "Azure": ["type=1,manufacturer=Microsoft Corporation,"
              "product=Virtual Machine",
              "type=3,asset=7783-7084-3265-9085-8269-3286-77"],
}
WHY = {
    "GCE": 'SMBIOS type 1 product "Google Compute Engine"',
    "AWS": r"SMBIOS type 1 UUID ec2e1916-\.\.\. \(begins ec2\)",
    "AWS Nitro": 'SMBIOS type 1 manufacturer "Amazon EC2"',
    "OpenStack": 'SMBIOS type 1 product "OpenStack Nova"',
    "DigitalOcean": 'SMBIOS type 1 manufacturer "DigitalOcean"',
    "Hetzner": 'SMBIOS type 1 manufacturer "Hetzner"',
    "Oracle": 'SMBIOS type 3 asset tag "OracleCloud.com"',
    "Azure": 'SMBIOS type 3 asset tag "7783-7084-3265-9085-8269-3286-77"',
}
RC = "echo rc ran; cloud; timeline; poweroff 5\n"


def pose(kind):
    out = []
    for s in POSE[kind]:
        out += ["-smbios", s]
    return out


def rc_disk(t):
    """A copy of the image whose /etc/rc says it ran (the source after
    the metadata)."""
    img = t.copy_disk(name="rc.img")
    rc = t.path("rc")
    with open(rc, "w") as f:
        f.write(RC)
    subprocess.run([EFS, "put", img, rc, "/etc/rc"], check=True,
                   capture_output=True)
    return img


class Server:
    """A metadata server's configuration (mdserver.py) and its log."""

    def __init__(self, t, answers, aws=None, name="md"):
        self.log = t.path(name + ".log")
        self.cfg = t.path(name + ".json")
        cfg = {"log": self.log, "state": t.path(name + ".state"),
               "answers": answers}
        if aws:
            cfg["aws"] = aws
        with open(self.cfg, "w") as f:
            json.dump(cfg, f)

    def requests(self):
        if not os.path.exists(self.log):
            return []
        with open(self.log) as f:
            return [json.loads(line) for line in f]


def nic(server=None, ports=(80,), net="169.254.169.0/24"):
    fwd = "".join(f",guestfwd=tcp:{MD}:{p}-cmd:python3 {MDSERVER} "
                  f"{server.cfg}" for p in ports) if server else ""
    return ["-netdev", f"user,id=n0,net={net},restrict=on{fwd}",
            "-device", "virtio-net-pci,netdev=n0"]


def boot(t, kind, server, disk, ports=(80,), net="169.254.169.0/24",
         cmd=None):
    return t.boot(kernel=ud.KERNEL, cmd=cmd, extra=pose(kind) +
                  nic(server, ports, net),
                  disks=[t.fresh_disk(base=disk,
                                      name=f"b{len(t.logs)}.qcow2")])


def served(kind, tag):
    """The script a cloud serves: it says where it ran, and leaves a
    mark on the volume that it reads back."""
    return (f"echo {tag} ran; write /ran {kind}; cat /ran; cloud; "
            f"timeline; poweroff 7")


def expect_ran(r, kind, tag, instance):
    r.expect_status(7)
    r.expect(rf"^cloud: {re.escape(kind.split()[0])} \({WHY[kind]}\): "
             r"asking its metadata service$")
    r.expect(r"^script: from cloud metadata user data$")
    r.expect(rf"^{tag} ran\n{re.escape(kind)}$")
    r.expect(rf"^cloud: {re.escape(kind.split()[0])} \({WHY[kind]}\)$")
    if instance:
        r.expect(rf"^cloud: instance id {re.escape(instance)}$")
    r.expect(r"^cloud: script from cloud metadata user data$")
    r.expect(r"^timeline: .* app_ready=\d+us net=\d+us metadata=\d+us$")


def need_fields(server, want):
    """Every request carried the cloud's fields."""
    reqs = server.requests()
    if not reqs:
        raise harness.Fail("the metadata server was never asked")
    for q in reqs:
        for k, v in want.items():
            if q["fields"].get(k.lower()) != v:
                raise harness.Fail(f"{q['method']} {q['path']}: {k} is "
                                   f"{q['fields'].get(k.lower())!r}")
    return reqs


@case("cloud: GCE, AWS (UUID), OpenStack and Hetzner posed by SMBIOS: the "
      "user data of each one's metadata server runs", timeout=TIMEOUT)
def clouds_plain(t):
    disk = rc_disk(t)
    g = {"Metadata-Flavor": "Google"}
    gce = Server(t, {
        "GET /computeMetadata/v1/instance/attributes/user-data":
            {"body": served("GCE", "gce"), "need": g},
        "GET /computeMetadata/v1/instance/id":
            {"body": "5517423619837645284", "need": g}}, name="gce")
    expect_ran(boot(t, "GCE", gce, disk), "GCE", "gce",
               "5517423619837645284")
    need_fields(gce, g)
    aws = Server(t, {
        "GET /latest/user-data": {"body": served("AWS", "aws")},
        "GET /latest/meta-data/instance-id":
            {"body": "i-0123456789abcdef0"}}, aws={"token": 200},
        name="aws")
    expect_ran(boot(t, "AWS", aws, disk), "AWS", "aws",
               "i-0123456789abcdef0")
    reqs = aws.requests()
    if reqs[0]["method"] != "PUT" or \
            reqs[0]["fields"].get("x-aws-ec2-metadata-token-ttl-seconds") \
            != "21600" or reqs[1]["fields"].get(
                "x-aws-ec2-metadata-token") != "tok-1":
        raise harness.Fail(f"IMDSv2: {reqs}")
    osk = Server(t, {
        "GET /openstack/latest/user_data":
            {"misbehave": "chunked", "body": served("OpenStack", "os")},
        "GET /openstack/latest/meta_data.json":
            {"body": json.dumps({"uuid": "d8e02d56-2648-49a3-bf97-"
                                 "6be8f1204f38", "name": "umbra1"})}},
        name="os")
    expect_ran(boot(t, "OpenStack", osk, disk), "OpenStack", "os",
               "d8e02d56-2648-49a3-bf97-6be8f1204f38")
    hz = Server(t, {
        "GET /hetzner/v1/userdata": {"body": served("Hetzner", "hz")},
        "GET /hetzner/v1/metadata/instance-id": {"body": "42424242"}},
        name="hz")
    expect_ran(boot(t, "Hetzner", hz, disk), "Hetzner", "hz", "42424242")


@case("cloud: DigitalOcean (link-local, no DHCP), Oracle and Azure "
      "(base64), GCE's startup-script; cloud-config user data refused",
      timeout=TIMEOUT)
def clouds_encoded(t):
    disk = rc_disk(t)
    do = Server(t, {
        "GET /metadata/v1/user-data": {"body": served("DigitalOcean",
                                                      "do")},
        "GET /metadata/v1/id": {"body": "3164494"}}, name="do")
    r = boot(t, "DigitalOcean", do, disk, net="169.254.0.0/16")
    expect_ran(r, "DigitalOcean", "do", "3164494")
    r.expect_not(r"DHCP")
    b64 = base64.b64encode(served("Oracle", "oci").encode()).decode()
    oci = Server(t, {
        "GET /opc/v2/instance/": {"need": {"Authorization": "Bearer Oracle"},
                                  "body": json.dumps({
                                      "id": "ocid1.instance.oc1.phx.abc",
                                      "metadata": {"user_data": b64}})}},
        name="oci")
    expect_ran(boot(t, "Oracle", oci, disk), "Oracle", "oci",
               "ocid1.instance.oc1.phx.abc")
    q = "?api-version=2021-01-01&format=text"
    az = Server(t, {
        "GET /metadata/instance/compute/userData" + q:
            {"need": {"Metadata": "true"},
             "body": base64.encodebytes(served("Azure", "az").encode())
             .decode()},
        "GET /metadata/instance/compute/vmId" + q:
            {"body": "02aab8a4-74ef-476e-8182-f6d2ba4166a6"}}, name="az")
    expect_ran(boot(t, "Azure", az, disk), "Azure", "az",
               "02aab8a4-74ef-476e-8182-f6d2ba4166a6")
    g = {"Metadata-Flavor": "Google"}
    gce = Server(t, {
        "GET /computeMetadata/v1/instance/attributes/startup-script":
            {"body": served("GCE", "startup"), "need": g}}, name="gce")
    expect_ran(boot(t, "GCE", gce, disk), "GCE", "startup", None)
    cc = Server(t, {
        "GET /latest/user-data": {"body": "#cloud-config\nruncmd: [x]\n"}},
        aws={"token": 200}, name="cc")
    r = boot(t, "AWS Nitro", cc, disk)
    r.expect(r"^script: cloud metadata user data is cloud-init's "
             r"#cloud-config, not an umbra script: refused$")
    r.expect_not(r"^rc ran$")
    r.expect_status(2)


@case("cloud: AWS IMDSv2: a token expired (401) is renewed once; refused "
      "(403): no metadata; not understood (405): IMDSv1", timeout=TIMEOUT)
def aws_tokens(t):
    disk = rc_disk(t)
    ans = {"GET /latest/user-data": {"body": served("AWS Nitro", "v2")}}
    exp = Server(t, ans, aws={"token": 200, "expired_below": 2},
                 name="expired")
    r = boot(t, "AWS Nitro", exp, disk)
    expect_ran(r, "AWS Nitro", "v2", None)
    seen = [(q["method"], q["path"], q["fields"].get(
        "x-aws-ec2-metadata-token")) for q in exp.requests()][:4]
    if seen != [("PUT", "/latest/api/token", None),
                ("GET", "/latest/user-data", "tok-1"),
                ("PUT", "/latest/api/token", None),
                ("GET", "/latest/user-data", "tok-2")]:
        raise harness.Fail(f"expired token: {seen}")
    ref = Server(t, ans, aws={"token": 403}, name="refused")
    r = boot(t, "AWS Nitro", ref, disk)
    r.expect(r"^cloud: AWS metadata: PUT /latest/api/token: answered 403; "
             r"going on$")
    r.expect(r"^rc ran$")
    r.expect_status(5)
    if [q["method"] for q in ref.requests()] != ["PUT"]:
        raise harness.Fail(f"after a refused token: {ref.requests()}")
    v1 = Server(t, {"GET /latest/user-data": {"body": served("AWS Nitro",
                                                             "v1")}},
                aws={"token": 405}, name="v1")
    expect_ran(boot(t, "AWS Nitro", v1, disk), "AWS Nitro", "v1", None)
    if any("x-aws-ec2-metadata-token" in q["fields"]
           for q in v1.requests()):
        raise harness.Fail(f"IMDSv1 sent a token: {v1.requests()}")


def hostile(t, disk, kind, server, line, ports=(80,)):
    r = boot(t, kind, server, disk, ports=ports)
    r.expect(rf"^cloud: {kind} metadata: {line}; going on$")
    r.expect(r"^rc ran$")
    r.expect(r"^cloud: script from /etc/rc$")
    r.expect_status(5)
    return r


@case("cloud: hostile metadata servers (slow, 500, a redirect, an endless "
      "body, one over 1 MiB): one line each, then /etc/rc",
      timeout=TIMEOUT)
def hostile_http(t):
    disk = rc_disk(t)
    p = "/computeMetadata/v1/instance/attributes/user-data"
    for how, line in (
            ({"misbehave": "slow"},
             f"GET {p}: the answer was not complete within 2 s"),
            ({"status": 500, "body": "oops"}, f"GET {p}: answered 500"),
            ({"status": 301, "headers": {"Location": "http://evil/"},
              "body": "moved"},
             f"GET {p}: redirected \\(301\\); umbra does not follow "
             "redirects"),
            ({"misbehave": "endless"},
             f"GET {p}: (the answer is over 1 MiB|the answer was not "
             "complete within 2 s)"),
            ({"headers": {"Content-Length": str(2 << 20)}, "body": "x"},
             f"GET {p}: the answer is over 1 MiB")):
        srv = Server(t, {"GET " + p: how}, name=f"h{len(t.logs)}")
        r = hostile(t, disk, "GCE", srv, line)
        # "a few seconds": the failing request's 2 s and no more
        us = [int(x) for x in re.search(
            r"^timeline: .* app_ready=(\d+)us net=(\d+)us metadata=(\d+)us",
            r.log, re.M).groups()]
        if us[2] - us[1] > 4000000:
            raise harness.Fail(f"{how}: the metadata held the boot "
                               f"{(us[2] - us[1]) / 1e6:.1f} s")


@case("cloud: bad base64, an unserved port, no server at all, empty user "
      "data, none at all (404): one line each, then /etc/rc",
      timeout=TIMEOUT)
def hostile_other(t):
    disk = rc_disk(t)
    q = "?api-version=2021-01-01&format=text"
    az = Server(t, {"GET /metadata/instance/compute/userData" + q:
                    {"body": "ZWNobyBo!!aQ=="}}, name="b64")
    hostile(t, disk, "Azure", az, "GET /metadata/instance/compute/userData"
            + re.escape(q) + ": the user data is not base64")
    # served on port 81 only: QEMU answers ARP, and resets port 80
    # (the netns case has a server that answers only ARP, and no more)
    arp = Server(t, {}, name="arp")
    hostile(t, disk, "Hetzner", arp, "GET /hetzner/v1/userdata: (no answer "
            "within 2 s|connection refused or reset)", ports=(81,))
    r = hostile(t, disk, "OpenStack", None,
                f"({MD} does not answer ARP and there is no gateway|GET "
                "/openstack/latest/user_data: no answer within 2 s)")
    r.expect(r"^cloud: OpenStack \(SMBIOS type 1 product \"OpenStack Nova\""
             r"\)$")
    empty = Server(t, {"GET /hetzner/v1/userdata": {"body": ""}},
                   name="empty")
    hostile(t, disk, "Hetzner", empty,
            "GET /hetzner/v1/userdata: empty user data")
    none = Server(t, {}, name="none")	# 404 everywhere
    hostile(t, disk, "GCE", none, r"no user data \(404\)")
    paths = [q["path"] for q in none.requests()]
    if paths[:2] != ["/computeMetadata/v1/instance/attributes/user-data",
                     "/computeMetadata/v1/instance/attributes/"
                     "startup-script"]:
        raise harness.Fail(f"GCE without user data asked {paths}")


@case("cloud: none recognised: nothing of the network is touched (no "
      "network stage); a recognised cloud whose script came from fw_cfg "
      "is not asked", timeout=TIMEOUT)
def no_cloud(t):
    disk = rc_disk(t)
    r = t.boot(kernel=ud.KERNEL, extra=nic(),
               disks=[t.fresh_disk(base=disk)])
    r.expect_status(5)
    r.expect(r"^cloud: none recognised \(SMBIOS type 1 manufacturer "
             r"\"QEMU\", product \"Standard PC \(Q35 \+ ICH9, 2009\)\"\)$")
    r.expect(r"^timeline: .*app_ready=\d+us$")
    r.expect_not(r"net=\d+us")
    r.expect_not(r"^cloud: .*asking")
    srv = Server(t, {"GET /latest/user-data": {"body": "echo no"}},
                 aws={"token": 200})
    r = boot(t, "AWS Nitro", srv, disk, cmd="timeline; cloud; net")
    r.expect_status(0)
    r.expect(r"^cloud: AWS \(SMBIOS type 1 manufacturer \"Amazon EC2\"\)$")
    r.expect(r"^cloud: metadata not asked \(an earlier source gave the "
             r"script\)$")
    r.expect(r"^cloud: script from fw_cfg opt/umbra/cmdline$")
    r.expect(r"^timeline: .*app_ready=\d+us$")
    r.expect(r"^net0: no address \(net up\)$")
    r.expect(r"^net0: rx 0 frames 0 bytes, tx 0 frames 0 bytes")
    if srv.requests():
        raise harness.Fail(f"asked: {srv.requests()}")
