# %postun of the aofd .rpm ($1: 0 on erase, 1 on upgrade): systemd forgets the removed unit.
# RPM has no purge: the data in /var/lib/aofd and /etc/aofd/admin.token are kept on erase
# (delete them by hand to start over); a changed aofd.toml is kept as aofd.toml.rpmsave.
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload || :
fi
