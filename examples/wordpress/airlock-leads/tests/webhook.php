<?php
// One POST to /wp-json/airlock/v1/review-resolved: stdin is {"headers": {...}, "body": "raw body"}. Prints the REST
// response status and the stored leads as JSON.
declare(strict_types=1);
require __DIR__ . '/wp-shim.php';
require __DIR__ . '/../airlock-leads.php';

do_action('rest_api_init');
$delivery = json_decode((string) stream_get_contents(STDIN), true, flags: JSON_THROW_ON_ERROR);
$route = $GLOBALS['wp_routes']['/airlock/v1/review-resolved'];
$response = $route['callback'](new WP_REST_Request(array_change_key_case($delivery['headers']), $delivery['body']));
echo json_encode(['status' => $response->status, 'leads' => $GLOBALS['wp_state']['meta']], JSON_PRETTY_PRINT), "\n";
