<?php
// A thin shim of the WordPress functions the plugin calls, so its test runs on Debian's php-cli without a WordPress
// install. State (options, posts, post meta, transients) lives in the JSON file named by AIRLOCK_WP_STATE, so each
// request is its own PHP process, as in WordPress. HTTP goes out for real through PHP's stream wrapper.
declare(strict_types=1);

const ABSPATH = __DIR__;
const NONCE_SALT = 'airlock-leads-test-salt';

$GLOBALS['wp_state_file'] = getenv('AIRLOCK_WP_STATE') ?: throw new RuntimeException('AIRLOCK_WP_STATE is required');
$GLOBALS['wp_state'] = is_file($GLOBALS['wp_state_file'])
    ? json_decode((string) file_get_contents($GLOBALS['wp_state_file']), true)
    : ['options' => [], 'posts' => [], 'meta' => [], 'transients' => [], 'next_id' => 1];
register_shutdown_function(static fn () => file_put_contents($GLOBALS['wp_state_file'], json_encode($GLOBALS['wp_state'], JSON_PRETTY_PRINT)));
$GLOBALS['wp_actions'] = [];
$GLOBALS['wp_routes'] = [];
$GLOBALS['wp_user_caps'] = [];

class WP_Error
{
    public function __construct(public string $code = '', public string $message = '') {}
}

class WP_REST_Request
{
    /** @param array<string,string> $headers lower-case names */
    public function __construct(private array $headers, private string $body) {}
    public function get_header(string $name): ?string { return $this->headers[strtolower($name)] ?? null; }
    public function get_body(): string { return $this->body; }
}

class WP_REST_Response
{
    public function __construct(public mixed $data = null, public int $status = 200) {}
}

function add_action(string $hook, callable|string $callback): void { $GLOBALS['wp_actions'][$hook][] = $callback; }
function do_action(string $hook): mixed
{
    $result = null;
    foreach ($GLOBALS['wp_actions'][$hook] ?? [] as $callback) $result = $callback();
    return $result;
}
function register_post_type(string $type, array $args): void {}
function register_rest_route(string $namespace, string $route, array $args): void { $GLOBALS['wp_routes']["/$namespace$route"] = $args; }
function current_user_can(string $capability): bool { return in_array($capability, $GLOBALS['wp_user_caps'], true); }
function wp_die(string $message, int $status = 500): never { throw new RuntimeException("wp_die($status): $message"); }
function check_admin_referer(string $action): void { if (!wp_verify_nonce($_POST['_wpnonce'] ?? '', $action)) wp_die('bad nonce', 403); }
function wp_create_nonce(string $action): string { return substr(hash_hmac('sha256', $action, NONCE_SALT), 0, 10); }
function wp_verify_nonce(string $nonce, string $action): bool { return hash_equals(wp_create_nonce($action), $nonce); }
function wp_unslash(mixed $value): mixed { return is_string($value) ? stripslashes($value) : $value; }
function sanitize_text_field(string $value): string { return trim(preg_replace('/\s+/', ' ', strip_tags($value)) ?? ''); }
function sanitize_textarea_field(string $value): string { return trim(strip_tags($value)); }
function sanitize_key(string $value): string { return preg_replace('/[^a-z0-9_\-]/', '', strtolower($value)) ?? ''; }
function sanitize_email(string $value): string { return filter_var(trim($value), FILTER_SANITIZE_EMAIL) ?: ''; }
function is_email(string $value): bool { return filter_var($value, FILTER_VALIDATE_EMAIL) !== false; }
function esc_url_raw(string $value): string { return filter_var($value, FILTER_SANITIZE_URL) ?: ''; }
function home_url(): string { return 'https://shop.example.com'; }
function wp_json_encode(mixed $value): string { return json_encode($value, JSON_UNESCAPED_SLASHES | JSON_THROW_ON_ERROR); }
function get_option(string $name, mixed $default = false): mixed { return $GLOBALS['wp_state']['options'][$name] ?? $default; }
function update_option(string $name, mixed $value): bool { $GLOBALS['wp_state']['options'][$name] = $value; return true; }
function get_transient(string $name): mixed
{
    $entry = $GLOBALS['wp_state']['transients'][$name] ?? null;
    return $entry !== null && $entry['expires'] > time() ? $entry['value'] : false;
}
function set_transient(string $name, mixed $value, int $ttl): bool { $GLOBALS['wp_state']['transients'][$name] = ['value' => $value, 'expires' => time() + $ttl]; return true; }
function wp_insert_post(array $post): int
{
    $id = $GLOBALS['wp_state']['next_id']++;
    $GLOBALS['wp_state']['posts'][(string) $id] = $post;
    return $id;
}
function update_post_meta(int $id, string $key, mixed $value): bool { $GLOBALS['wp_state']['meta'][(string) $id][$key] = $value; return true; }
function get_post_meta(int $id, string $key): mixed { return $GLOBALS['wp_state']['meta'][(string) $id][$key] ?? ''; }
function get_posts(array $query): array
{
    $ids = [];
    foreach ($GLOBALS['wp_state']['posts'] as $id => $post) {
        if ($post['post_type'] === $query['post_type'] && get_post_meta((int) $id, $query['meta_key']) === $query['meta_value']) $ids[] = (int) $id;
    }
    return $ids;
}
function is_wp_error(mixed $value): bool { return $value instanceof WP_Error; }
function wp_remote_post(string $url, array $args): array|WP_Error
{
    $headers = '';
    foreach ($args['headers'] as $name => $value) $headers .= "$name: $value\r\n";
    $context = stream_context_create(['http' => ['method' => 'POST', 'header' => $headers, 'content' => $args['body'], 'timeout' => $args['timeout'], 'ignore_errors' => true]]);
    $body = @file_get_contents($url, false, $context);
    if ($body === false || !isset($http_response_header[0])) return new WP_Error('http_request_failed', 'no answer');
    preg_match('/^HTTP\/\S+ (\d{3})/', $http_response_header[0], $match);
    return ['response' => ['code' => (int) $match[1]], 'body' => $body];
}
function wp_remote_retrieve_response_code(array $response): int { return $response['response']['code']; }
function wp_remote_retrieve_body(array $response): string { return $response['body']; }
function __return_true(): bool { return true; }
