# %post of the aofd .rpm ($1: 1 on install, 2 on upgrade). cargo-generate-rpm has no %systemd_*
# macros, so their effect is written out: the aofd user and the admin token, then the unit
# enabled and started on install, restarted on upgrade (the new binary and unit take over), as
# the .deb does. systemctl calls only when systemd runs (not in an image build or chroot).
set -e
# --- begin setup-user-and-token (identical in packaging/debian/postinst) ---
# The user and group, from the sysusers.d file the package installs; useradd where
# systemd-sysusers is missing (a container without systemd, say).
if command -v systemd-sysusers >/dev/null 2>&1; then
    systemd-sysusers /usr/lib/sysusers.d/aofd.conf
elif ! getent passwd aofd >/dev/null 2>&1; then
    useradd --system --user-group --home-dir /var/lib/aofd --no-create-home \
        --shell /usr/sbin/nologin --comment "aofd key-value daemon" aofd
fi

# The admin token: 32 random bytes as hex, readable by root and the aofd group only. Generated
# only when absent, so upgrades and reinstalls keep the operator's token (or their own secret).
if [ ! -e /etc/aofd/admin.token ]; then
    mkdir -p /etc/aofd
    (
        umask 077
        od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >/etc/aofd/admin.token.new
        echo >>/etc/aofd/admin.token.new
    )
    chown root:aofd /etc/aofd/admin.token.new
    chmod 0640 /etc/aofd/admin.token.new
    mv /etc/aofd/admin.token.new /etc/aofd/admin.token
fi
# --- end setup-user-and-token ---
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload || :
    if [ "$1" -eq 1 ]; then
        systemctl enable --now aofd.service || :
    else
        systemctl try-restart aofd.service || :
    fi
fi
