/* The version preforkd -V and preforkctl -V print (debian/changelog agrees). */
#ifndef PREFORKD_VERSION_H
#define PREFORKD_VERSION_H

#ifndef PREFORKD_VERSION
#define PREFORKD_VERSION "0.1.0"
#endif

#endif
