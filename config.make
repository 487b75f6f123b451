# nginx addon make fragment (sourced by nginx's auto/make after `config`):
# the embedded Redis scripts are generated again when one changes.

cat << END                                                >> $NGX_MAKEFILE

$KEFU_LUA_OUT/ngx_http_kefu_scripts.c:	\\
	`echo $ngx_addon_dir/ngx_kefu_module/lua/*.lua` \\
	$ngx_addon_dir/tools/lua-embed.sh
	sh $ngx_addon_dir/tools/lua-embed.sh \\
	    $ngx_addon_dir/ngx_kefu_module/lua $KEFU_LUA_OUT

END
