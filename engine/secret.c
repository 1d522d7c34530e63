/*
 * secret.c - private files; see secret.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "secret.h"

int
secret_read(const char *path, const char *what, char *out, size_t n,
    size_t *len, struct err *e)
{
	struct stat sb;
	ssize_t got;
	size_t l;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return err_set(e, EX_CONFIG, "%s: %s", path, strerror(errno));
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return err_set(e, EX_CONFIG, "%s: not a regular file", path);
	}
	if (sb.st_mode & (S_IRWXG | S_IRWXO)) {
		close(fd);
		return err_set(e, EX_CONFIG, "%s: group or others may read "
		    "this %s file; chmod 600 it", path, what);
	}
	got = read(fd, out, n - 1);
	close(fd);
	if (got < 0)
		return err_set(e, EX_IOERR, "%s: %s", path, strerror(errno));
	out[got] = '\0';
	l = strcspn(out, "\r\n");
	if ((size_t)got == n - 1 && l == (size_t)got)
		return err_set(e, EX_CONFIG, "%s: a %s is at most %zu bytes",
		    path, what, n - 2);
	out[l] = '\0';
	if (len != NULL)
		*len = l;
	if (l == 0)
		return err_set(e, EX_CONFIG, "%s: the %s is empty", path, what);
	return 0;
}
