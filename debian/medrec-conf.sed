# debian/rules: /etc/medrec/medrec.conf from conf/medrec.conf.example.
1s|^# medrec configuration\.  Copy to /etc/medrec/medrec.conf (or pass -c FILE)\.$|# medrec configuration, read by medrec.service (medrec -c FILE).  A conffile\
# of the Debian package: your changes are kept on upgrades.|
s|^#MIGRATIONS_DIR=/usr/local/share/medrec/migrations$|#MIGRATIONS_DIR=/usr/share/medrec/migrations|
/^# At least 32 random bytes, e\.g\. `openssl rand -base64 48`\.  The service$/,/^JWT_SECRET=change-me-to-a-random-string-of-at-least-32-bytes$/c\
# JWT_SECRET: made by the package (postinst) in /etc/default/medrec, which\
# the service reads as its environment and which wins over this file.\
# Change it there (that logs every user out); set here, and removed there,\
# it is yours: postinst makes none while either file sets one.\
#JWT_SECRET=
