#!/bin/sh
# The sentrix image, every boot (installed as /usr/lib/sentrix-image/ready,
# run by sentrix-image-ready.service after the first-boot unit): waits until
# the instance of /etc/sentrix/image.conf is up and says so on the console,
# one line a machine can wait for, then `sentrix sandbox status`:
#
#   SENTRIX-IMAGE-READY NAME active uptime=SECONDS netns=S gateway=S sandbox=S
#   SENTRIX-IMAGE-FAILED NAME WHY            (provisioning failed, or not up in time)
#   SENTRIX-IMAGE-DISABLED NAME              (it does not start at boot)
#
# "active" is sentrix@NAME.target's state: the target is ordered after its
# netns, gateway and sandbox units, so it is active once they have started.
# S are those units' states (systemctl is-active) at that moment.
#
#   ready [TIMEOUT]   wait at most TIMEOUT seconds (default 600)
set -u

timeout=${1:-600}
name=$(/usr/lib/sentrix-image/firstboot --get name 2>/dev/null) || name=sandbox0
target=sentrix@$name.target
uptime() { cut -d' ' -f1 /proc/uptime; }
states() {
	for u in netns gateway sandbox; do
		printf ' %s=%s' $u "$(systemctl is-active sentrix-$u@"$name".service)"
	done
}

if systemctl -q is-failed sentrix-image-firstboot.service; then
	echo "SENTRIX-IMAGE-FAILED $name first-boot provisioning failed uptime=$(uptime) (journalctl -u sentrix-image-firstboot):"
	journalctl -q --no-pager -o cat -n 20 -u sentrix-image-firstboot.service
	exit 1
fi
if [ ! -e "/etc/sentrix/$name/config.json" ]; then
	echo "SENTRIX-IMAGE-FAILED $name is not provisioned (/etc/sentrix/$name/config.json is missing)"
	exit 1
fi
if ! systemctl -q is-enabled "$target" 2>/dev/null; then
	echo "SENTRIX-IMAGE-DISABLED $name does not start at boot (sentrix sandbox enable --name $name)"
	exit 0
fi
end=$(($(cut -d. -f1 /proc/uptime) + timeout))
while :; do
	state=$(systemctl is-active "$target")
	[ "$state" = active ] && break
	if [ "$(cut -d. -f1 /proc/uptime)" -ge $end ]; then
		echo "SENTRIX-IMAGE-FAILED $name $target is $state after ${timeout} s uptime=$(uptime)$(states)"
		sentrix sandbox status --name "$name"
		exit 1
	fi
	sleep 0.2
done
echo "SENTRIX-IMAGE-READY $name active uptime=$(uptime)$(states)"
sentrix sandbox status --name "$name"
exit 0
