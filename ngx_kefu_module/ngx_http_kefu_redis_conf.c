/*
 * ngx_kefu: the `kefu_redis` and `kefu_redis_cluster` directives (server
 * or seed addresses, password file, timeouts) and the Lua scripts every
 * connection loads.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <ngx_sha1.h>

#include "ngx_http_kefu_redis_int.h"


static char *ngx_http_kefu_redis_parse(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf, ngx_uint_t cluster);
static ngx_int_t ngx_http_kefu_redis_parse_address(ngx_conf_t *cf,
    ngx_http_kefu_redis_addr_t *ra, ngx_str_t *addr);
static char *ngx_http_kefu_redis_read_password(ngx_conf_t *cf,
    ngx_http_kefu_redis_conf_t *rcf, ngx_str_t *path);


char *
ngx_http_kefu_redis_directive(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    return ngx_http_kefu_redis_parse(cf, cmd, conf, 0);
}


char *
ngx_http_kefu_redis_cluster_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    return ngx_http_kefu_redis_parse(cf, cmd, conf, 1);
}


/* kefu_redis ADDR [option=value...]; kefu_redis_cluster ADDR... [...] */
static char *
ngx_http_kefu_redis_parse(ngx_conf_t *cf, ngx_command_t *cmd, void *conf,
    ngx_uint_t cluster)
{
    ngx_http_kefu_redis_conf_t  *rcf;

    ngx_int_t                    n;
    ngx_str_t                   *value, s, password_file;
    ngx_uint_t                   i;
    ngx_http_kefu_redis_addr_t  *ra;

    rcf = (ngx_http_kefu_redis_conf_t *) ((char *) conf + cmd->offset);

    if (rcf->configured) {
        if (rcf->cluster == cluster) {
            return "is duplicate";
        }

        return "cannot be used together with "
               "\"kefu_redis\" or \"kefu_redis_cluster\"";
    }

    value = cf->args->elts;

    rcf->name = value[1];
    rcf->db = 0;
    rcf->timeout = NGX_HTTP_KEFU_REDIS_TIMEOUT;
    rcf->connect_timeout = NGX_HTTP_KEFU_REDIS_CONNECT_TIMEOUT;
    rcf->max_pending = NGX_HTTP_KEFU_REDIS_MAX_PENDING;
    rcf->cluster = cluster;
    ngx_str_null(&rcf->user);
    ngx_str_null(&rcf->password);
    ngx_str_null(&password_file);

    rcf->addrs = ngx_array_create(cf->pool, 4,
                                  sizeof(ngx_http_kefu_redis_addr_t));
    if (rcf->addrs == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strlchr(value[i].data, value[i].data + value[i].len, '=')
            != NULL)
        {
            break;
        }

        if (i > 1 && !cluster) {
            goto invalid;
        }

        ra = ngx_array_push(rcf->addrs);
        if (ra == NULL) {
            return NGX_CONF_ERROR;
        }

        if (ngx_http_kefu_redis_parse_address(cf, ra, &value[i]) != NGX_OK) {
            return NGX_CONF_ERROR;
        }

        if (cluster && ra->unix_path.len) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "kefu_redis_cluster: \"%V\": a cluster's "
                               "nodes are reached over TCP", &value[i]);
            return NGX_CONF_ERROR;
        }
    }

    if (rcf->addrs->nelts == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" wants an address first", &cmd->name);
        return NGX_CONF_ERROR;
    }

    for ( /* void */ ; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "password_file=", 14) == 0) {
            password_file.data = value[i].data + 14;
            password_file.len = value[i].len - 14;
            continue;
        }

        if (ngx_strncmp(value[i].data, "user=", 5) == 0) {
            rcf->user.data = value[i].data + 5;
            rcf->user.len = value[i].len - 5;

            if (rcf->user.len == 0) {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "db=", 3) == 0) {
            if (cluster) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"db=\" is not supported by "
                                   "Redis Cluster");
                return NGX_CONF_ERROR;
            }

            n = ngx_atoi(value[i].data + 3, value[i].len - 3);
            if (n == NGX_ERROR || n > 65535) {
                goto invalid;
            }

            rcf->db = n;
            continue;
        }
        if (ngx_strncmp(value[i].data, "timeout=", 8) == 0) {
            s.data = value[i].data + 8;
            s.len = value[i].len - 8;

            rcf->timeout = ngx_parse_time(&s, 0);
            if (rcf->timeout == (ngx_msec_t) NGX_ERROR || rcf->timeout == 0) {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "connect_timeout=", 16) == 0) {
            s.data = value[i].data + 16;
            s.len = value[i].len - 16;

            rcf->connect_timeout = ngx_parse_time(&s, 0);
            if (rcf->connect_timeout == (ngx_msec_t) NGX_ERROR
                || rcf->connect_timeout == 0)
            {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "max_pending=", 12) == 0) {
            n = ngx_atoi(value[i].data + 12, value[i].len - 12);
            if (n == NGX_ERROR || n == 0) {
                goto invalid;
            }

            rcf->max_pending = n;
            continue;
        }

        goto invalid;
    }

    if (password_file.len) {
        if (ngx_http_kefu_redis_read_password(cf, rcf, &password_file)
            != NGX_CONF_OK)
        {
            return NGX_CONF_ERROR;
        }

    } else if (rcf->user.len) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"user=\" wants a \"password_file=\" too");
        return NGX_CONF_ERROR;
    }

    rcf->configured = 1;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\"", &value[i]);

    return NGX_CONF_ERROR;
}


/*
 * Only numeric addresses: hiredis 0.14 resolves names with a blocking
 * getaddrinfo() in redisAsyncConnect(), which would stall the worker on
 * every reconnect.
 */
static ngx_int_t
ngx_http_kefu_redis_parse_address(ngx_conf_t *cf,
    ngx_http_kefu_redis_addr_t *ra, ngx_str_t *addr)
{
    u_char     *p, *last, *port;
    size_t      len;
    ngx_int_t   n;
#if (NGX_HAVE_INET6)
    u_char      buf[16];
#endif

    ra->name = *addr;

    p = addr->data;
    last = addr->data + addr->len;

    if (addr->len > 5 && ngx_strncmp(p, "unix:", 5) == 0) {
        p += 5;
        len = last - p;

        if (len == 0 || *p != '/') {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "kefu_redis: unix socket path \"%V\" "
                               "must be absolute", addr);
            return NGX_ERROR;
        }

        /* hiredis would silently truncate a longer path */
        if (len >= sizeof(((struct sockaddr_un *) 0)->sun_path)) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "kefu_redis: unix socket path \"%V\" "
                               "is too long", addr);
            return NGX_ERROR;
        }

        ra->unix_path.data = ngx_pnalloc(cf->pool, len + 1);
        if (ra->unix_path.data == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(ra->unix_path.data, p, len);
        ra->unix_path.data[len] = '\0';
        ra->unix_path.len = len;

        return NGX_OK;
    }

    port = NULL;

    if (p < last && *p == '[') {
        p++;

        port = ngx_strlchr(p, last, ']');
        if (port == NULL) {
            goto invalid;
        }

        len = port - p;
        port++;

        if (port < last) {
            if (*port != ':') {
                goto invalid;
            }

            port++;

        } else {
            port = NULL;
        }

#if (NGX_HAVE_INET6)
        if (len == 0 || ngx_inet6_addr(p, len, buf) != NGX_OK) {
            goto not_numeric;
        }
#else
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "kefu_redis: IPv6 is not supported "
                           "by this nginx: \"%V\"", addr);
        return NGX_ERROR;
#endif

    } else {
        port = ngx_strlchr(p, last, ':');
        len = (port ? port : last) - p;

        if (port) {
            port++;
        }

        if (len == 0 || ngx_inet_addr(p, len) == INADDR_NONE) {
            goto not_numeric;
        }
    }

    if (port) {
        n = ngx_atoi(port, last - port);
        if (n < 1 || n > 65535) {
            goto invalid;
        }

        ra->port = (in_port_t) n;

    } else {
        ra->port = NGX_HTTP_KEFU_REDIS_PORT;
    }

    ra->host.data = ngx_pnalloc(cf->pool, len + 1);
    if (ra->host.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(ra->host.data, p, len);
    ra->host.data[len] = '\0';
    ra->host.len = len;

    return NGX_OK;

not_numeric:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "kefu_redis: \"%V\" is not a numeric address; use "
                       "IPv4:port, [IPv6]:port or unix:/path (host names "
                       "would need a blocking DNS lookup in the worker)",
                       addr);
    return NGX_ERROR;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "kefu_redis: invalid address \"%V\"", addr);
    return NGX_ERROR;
}


/* The password never appears in the configuration (nginx -T) nor in
 * any log line; only the file name does. */
static char *
ngx_http_kefu_redis_read_password(ngx_conf_t *cf,
    ngx_http_kefu_redis_conf_t *rcf, ngx_str_t *path)
{
    char             *rv;
    u_char           *buf;
    size_t            len;
    ssize_t           n;
    ngx_str_t         name;
    ngx_file_t        file;
    ngx_file_info_t   fi;

    name = *path;

    if (ngx_conf_full_name(cf->cycle, &name, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&file, sizeof(ngx_file_t));
    file.name = name;
    file.log = cf->log;

    file.fd = ngx_open_file(name.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (file.fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "kefu_redis: cannot open password_file \"%s\"",
                           name.data);
        return NGX_CONF_ERROR;
    }

    rv = NGX_CONF_ERROR;

    if (ngx_fd_info(file.fd, &fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_fd_info_n " \"%s\" failed", name.data);
        goto done;
    }

    len = (size_t) ngx_file_size(&fi);

    if (len == 0 || len > NGX_HTTP_KEFU_REDIS_PASSWORD_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "kefu_redis: password_file \"%s\" must hold "
                           "1 to %d bytes", name.data,
                           NGX_HTTP_KEFU_REDIS_PASSWORD_MAX);
        goto done;
    }

    buf = ngx_pnalloc(cf->pool, len + 1);
    if (buf == NULL) {
        goto done;
    }

    n = ngx_read_file(&file, buf, len, 0);
    if (n == NGX_ERROR) {
        goto done;
    }

    if ((size_t) n != len) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "kefu_redis: short read of password_file \"%s\"",
                           name.data);
        goto done;
    }

    /* editors add a final newline */
    while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'
                   || buf[len - 1] == ' ' || buf[len - 1] == '\t'))
    {
        len--;
    }

    if (len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "kefu_redis: password_file \"%s\" is empty",
                           name.data);
        goto done;
    }

    buf[len] = '\0';
    rcf->password.data = buf;
    rcf->password.len = len;

    rv = NGX_CONF_OK;

done:

    if (ngx_close_file(file.fd) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_ALERT, cf->log, ngx_errno,
                      ngx_close_file_n " \"%s\" failed", name.data);
    }

    return rv;
}


ngx_int_t
ngx_http_kefu_redis_add_script(ngx_conf_t *cf,
    ngx_http_kefu_redis_conf_t *rcf, const ngx_http_kefu_lua_t *lua)
{
    u_char                        digest[20];
    ngx_sha1_t                    sha1;
    ngx_http_kefu_redis_script_t  *script;

    if (rcf->scripts == NULL) {
        rcf->scripts = ngx_array_create(cf->pool, 8,
                                        sizeof(ngx_http_kefu_redis_script_t));
        if (rcf->scripts == NULL) {
            return NGX_ERROR;
        }
    }

    script = ngx_array_push(rcf->scripts);
    if (script == NULL) {
        return NGX_ERROR;
    }

    /* the embedded text lives as long as the module */
    script->name = lua->name;
    script->source = lua->source;

    ngx_sha1_init(&sha1);
    ngx_sha1_update(&sha1, script->source.data, script->source.len);
    ngx_sha1_final(digest, &sha1);

    ngx_hex_dump(script->sha1, digest, 20);
    script->sha1[40] = '\0';

    return rcf->scripts->nelts - 1;
}


