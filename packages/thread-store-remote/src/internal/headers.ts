/** The request header naming the calling client (one id per RemoteThreadStore instance). */
export const CLIENT_ID_HEADER = 'skein-client-id';
