<?php
/**
 * Plugin Name: Airlock Leads
 * Description: Classifies contact-form leads with Airlock's lead.classify task. WordPress keeps authentication,
 *              capability checks, nonces, sanitisation, schema validation, idempotency and persistence on its side,
 *              and accepts Airlock's signed review.resolved webhook.
 * Version: 0.1.0
 * Requires PHP: 8.1
 * License: MIT
 */

if (!defined('ABSPATH')) {
    exit;
}

const AIRLOCK_LEADS_POST_TYPE = 'airlock_lead';
/** Standard Webhooks: a timestamp outside five minutes either way is refused (replay protection). */
const AIRLOCK_LEADS_TOLERANCE_SECONDS = 300;
const AIRLOCK_LEADS_CATEGORIES = ['sales', 'support', 'partnership', 'job_application', 'spam', 'other'];
const AIRLOCK_LEADS_ACTIONS = ['book_demo', 'send_pricing', 'route_to_support', 'forward_to_partnerships', 'nurture', 'discard'];

add_action('init', 'airlock_leads_register_post_type');
add_action('admin_post_nopriv_airlock_lead', 'airlock_leads_handle_submission');
add_action('admin_post_airlock_lead', 'airlock_leads_handle_submission');
add_action('rest_api_init', 'airlock_leads_register_routes');
add_action('admin_post_airlock_leads_settings', 'airlock_leads_save_settings');

function airlock_leads_register_post_type(): void
{
    register_post_type(AIRLOCK_LEADS_POST_TYPE, ['public' => false, 'show_ui' => true, 'label' => 'Leads', 'supports' => ['title']]);
}

/** Settings are saved only by administrators, through a nonce-checked form. */
function airlock_leads_save_settings(): void
{
    if (!current_user_can('manage_options')) {
        wp_die('Not allowed.', 403);
    }
    check_admin_referer('airlock_leads_settings');
    update_option('airlock_leads_url', esc_url_raw(wp_unslash($_POST['airlock_url'] ?? '')));
    update_option('airlock_leads_api_key', sanitize_text_field(wp_unslash($_POST['api_key'] ?? '')));
    update_option('airlock_leads_webhook_secret', sanitize_text_field(wp_unslash($_POST['webhook_secret'] ?? '')));
}

/**
 * The form post: nonce, sanitisation, one lead per submission (the submission id, rendered into the form, is the
 * idempotency key on both sides), then Airlock, whose answer is validated before anything is written as post meta.
 */
function airlock_leads_handle_submission(): array
{
    if (!wp_verify_nonce(wp_unslash($_POST['_wpnonce'] ?? ''), 'airlock_lead')) {
        return ['status' => 'refused', 'reason' => 'nonce'];
    }
    $submission = sanitize_key(wp_unslash($_POST['submission_id'] ?? ''));
    $data = [
        'name' => sanitize_text_field(wp_unslash($_POST['name'] ?? '')),
        'email' => sanitize_email(wp_unslash($_POST['email'] ?? '')),
        'company' => sanitize_text_field(wp_unslash($_POST['company'] ?? '')),
        'message' => sanitize_textarea_field(wp_unslash($_POST['message'] ?? '')),
        'consent' => ($_POST['consent'] ?? '') === '1',
    ];
    if ($submission === '' || $data['name'] === '' || !is_email($data['email']) || $data['message'] === '') {
        return ['status' => 'refused', 'reason' => 'invalid form'];
    }
    if ($data['company'] === '') {
        unset($data['company']);
    }
    $idempotency_key = 'wp-lead-' . hash('sha256', home_url() . '|' . $submission);

    // A double submit finds the lead the first one wrote and does nothing else.
    $existing = get_posts(['post_type' => AIRLOCK_LEADS_POST_TYPE, 'meta_key' => '_airlock_idempotency_key', 'meta_value' => $idempotency_key, 'fields' => 'ids']);
    if ($existing !== []) {
        return ['status' => 'duplicate', 'post_id' => $existing[0]];
    }
    $post_id = wp_insert_post(['post_type' => AIRLOCK_LEADS_POST_TYPE, 'post_status' => 'private', 'post_title' => $data['name']]);
    update_post_meta($post_id, '_airlock_idempotency_key', $idempotency_key);

    $response = wp_remote_post(rtrim((string) get_option('airlock_leads_url'), '/') . '/v1/tasks/lead.classify', [
        'timeout' => 30,
        'headers' => [
            'Authorization' => 'Bearer ' . get_option('airlock_leads_api_key'),
            'Content-Type' => 'application/json',
            'Idempotency-Key' => $idempotency_key,
        ],
        'body' => wp_json_encode([
            'schema_version' => '1.0',
            'source' => 'wordpress',
            'event_id' => 'wp_' . $submission,
            'timestamp' => gmdate('Y-m-d\TH:i:s\Z'),
            'data' => $data,
        ]),
    ]);
    if (is_wp_error($response)) {
        // Kept for a retry: the same key makes a second call replay instead of classifying twice.
        update_post_meta($post_id, '_airlock_status', 'retry');
        return ['status' => 'retry', 'post_id' => $post_id];
    }
    $status = (int) wp_remote_retrieve_response_code($response);
    $body = json_decode(wp_remote_retrieve_body($response), true);
    update_post_meta($post_id, '_airlock_request_id', is_array($body) ? (string) ($body['request_id'] ?? '') : '');
    if ($status === 200 && airlock_leads_store_result($post_id, $body)) {
        return ['status' => 'classified', 'post_id' => $post_id];
    }
    if ($status === 422 && is_array($body) && ($body['code'] ?? '') === 'sent_to_review') {
        update_post_meta($post_id, '_airlock_status', 'pending_review');
        update_post_meta($post_id, '_airlock_review_id', sanitize_text_field((string) ($body['review_id'] ?? '')));
        return ['status' => 'pending_review', 'post_id' => $post_id];
    }
    update_post_meta($post_id, '_airlock_status', 'failed');
    update_post_meta($post_id, '_airlock_error', sanitize_text_field(is_array($body) ? (string) ($body['code'] ?? $status) : (string) $status));
    return ['status' => 'failed', 'post_id' => $post_id];
}

/**
 * Airlock's output is untrusted: it is written only if the envelope says so and the output matches the task's output
 * schema (lead.classify 1.0) field by field. Anything else is refused and nothing is written.
 */
function airlock_leads_valid_output(mixed $envelope): ?array
{
    if (!is_array($envelope) || ($envelope['trust'] ?? null) !== 'untrusted' || ($envelope['status'] ?? null) !== 'ok'
        || ($envelope['task'] ?? null) !== 'lead.classify' || !is_array($envelope['output'] ?? null)) {
        return null;
    }
    $output = $envelope['output'];
    if (array_diff(array_keys($output), ['score', 'category', 'next_action', 'reasons']) !== []) {
        return null;
    }
    $reasons = $output['reasons'] ?? null;
    $valid = is_int($output['score'] ?? null) && $output['score'] >= 0 && $output['score'] <= 100
        && in_array($output['category'] ?? null, AIRLOCK_LEADS_CATEGORIES, true)
        && in_array($output['next_action'] ?? null, AIRLOCK_LEADS_ACTIONS, true)
        && is_array($reasons) && array_is_list($reasons) && count($reasons) >= 1 && count($reasons) <= 8;
    foreach ($valid ? $reasons : [] as $reason) {
        // Characters, not bytes (maxLength in the schema); preg_match_all fails on invalid UTF-8, which is refused too.
        $valid = $valid && is_string($reason) && (int) preg_match_all('/./su', $reason) <= 300 && preg_last_error() === PREG_NO_ERROR;
    }
    return $valid ? $output : null;
}

function airlock_leads_store_result(int $post_id, mixed $envelope): bool
{
    $output = airlock_leads_valid_output($envelope);
    if ($output === null) {
        update_post_meta($post_id, '_airlock_status', 'invalid_answer');
        return false;
    }
    update_post_meta($post_id, '_airlock_status', 'classified');
    update_post_meta($post_id, '_airlock_score', $output['score']);
    update_post_meta($post_id, '_airlock_category', $output['category']);
    update_post_meta($post_id, '_airlock_next_action', $output['next_action']);
    update_post_meta($post_id, '_airlock_reasons', array_map('sanitize_text_field', $output['reasons']));
    $review = $envelope['review'] ?? null;
    if (is_array($review)) {
        update_post_meta($post_id, '_airlock_reviewed_by', sanitize_text_field((string) ($review['reviewed_by'] ?? '')));
        update_post_meta($post_id, '_airlock_reviewed_at', sanitize_text_field((string) ($review['reviewed_at'] ?? '')));
    }
    return true;
}

function airlock_leads_register_routes(): void
{
    register_rest_route('airlock/v1', '/review-resolved', [
        'methods' => 'POST',
        'callback' => 'airlock_leads_review_resolved',
        // Authenticated by the Standard Webhooks signature, checked first thing in the callback.
        'permission_callback' => '__return_true',
    ]);
}

/** Standard Webhooks v1: HMAC-SHA256 over "id.timestamp.raw body" with the decoded whsec_ key, constant-time compare. */
function airlock_leads_signature_valid(string $id, string $timestamp, string $signatures, string $body, string $secret, int $now): bool
{
    if (!preg_match('/^[\x21-\x2d\x2f-\x7e]{1,256}$/', $id) || !preg_match('/^\d{1,10}$/', $timestamp)
        || abs($now - (int) $timestamp) > AIRLOCK_LEADS_TOLERANCE_SECONDS || !str_starts_with($secret, 'whsec_')) {
        return false;
    }
    $key = base64_decode(substr($secret, 6), true);
    if ($key === false || strlen($key) < 24) {
        return false;
    }
    $expected = base64_encode(hash_hmac('sha256', $id . '.' . $timestamp . '.' . $body, $key, true));
    foreach (explode(' ', $signatures) as $entry) {
        $parts = explode(',', $entry, 2);
        if (count($parts) === 2 && $parts[0] === 'v1' && hash_equals($expected, $parts[1])) {
            return true;
        }
    }
    return false;
}

function airlock_leads_review_resolved(WP_REST_Request $request): WP_REST_Response
{
    $id = (string) $request->get_header('webhook-id');
    $body = $request->get_body();
    if (!airlock_leads_signature_valid($id, (string) $request->get_header('webhook-timestamp'), (string) $request->get_header('webhook-signature'),
        $body, (string) get_option('airlock_leads_webhook_secret'), time())) {
        return new WP_REST_Response(['error' => 'signature'], 401);
    }
    // A retried delivery carries the same webhook-id: handled once.
    if (get_transient('airlock_webhook_' . md5($id)) !== false) {
        return new WP_REST_Response(null, 204);
    }
    set_transient('airlock_webhook_' . md5($id), 1, 2 * AIRLOCK_LEADS_TOLERANCE_SECONDS);
    $event = json_decode($body, true);
    if (!is_array($event) || ($event['type'] ?? '') !== 'review.resolved' || !is_array($event['data'] ?? null)) {
        return new WP_REST_Response(null, 204);
    }
    $posts = get_posts(['post_type' => AIRLOCK_LEADS_POST_TYPE, 'meta_key' => '_airlock_request_id', 'meta_value' => (string) ($event['data']['request_id'] ?? ''), 'fields' => 'ids']);
    if ($posts === []) {
        return new WP_REST_Response(null, 204);
    }
    if (($event['data']['decision'] ?? '') === 'approved') {
        airlock_leads_store_result($posts[0], $event['data']['result'] ?? null);
    } else {
        update_post_meta($posts[0], '_airlock_status', 'rejected');
    }
    return new WP_REST_Response(null, 204);
}
