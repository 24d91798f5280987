# %preun of the aofd .rpm ($1: 0 on erase, 1 on upgrade): on erase, stop and disable the unit.
if [ "$1" -eq 0 ] && [ -d /run/systemd/system ]; then
    systemctl --no-reload disable --now aofd.service || :
fi
