// The errnos iommufd returns (negated by the callers), by their Linux numbers.

export const EPERM = 1, ENOENT = 2, EIO = 5, EBADF = 9, ENOMEM = 12, EFAULT = 14, EBUSY = 16, EEXIST = 17,
  ENODEV = 19, EINVAL = 22, ENOTTY = 25, ENOSPC = 28, E2BIG = 7, EDEADLOCK = 35, EOVERFLOW = 75, EBADFD = 77,
  EMSGSIZE = 90, EOPNOTSUPP = 95, EADDRINUSE = 98;
