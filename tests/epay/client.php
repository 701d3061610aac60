<?php
// An epay (易支付) client as PHP apps implement the protocol (written from
// the protocol, plain php-cli: no extensions beyond the core), for the
// end-to-end tests of the Worker's /epay/ interface (tests/tests/epay.rs).
// Same commands and environment as client.py; the notify receiver is this
// file as the router of PHP's built-in server:
//   EPAY_NOTIFY_LOG=log.jsonl [EPAY_NOTIFY_MODE=fail] php -S 127.0.0.1:PORT client.php

$API = getenv('EPAY_API') ?: '';
$PID = getenv('EPAY_PID') ?: '';
$KEY = getenv('EPAY_KEY') ?: '';

// ksort, skip sign/sign_type and empty values, k=v&..., key appended, md5.
function epay_sign(array $params, string $key): string {
    ksort($params, SORT_STRING);
    $parts = [];
    foreach ($params as $k => $v) {
        if ($k === 'sign' || $k === 'sign_type' || $v === '' || $v === null) {
            continue;
        }
        $parts[] = $k . '=' . $v;
    }
    return md5(implode('&', $parts) . $key);
}

function epay_signed(array $params, string $key): array {
    $params['sign'] = epay_sign($params, $key);
    $params['sign_type'] = 'MD5';
    return $params;
}

// Verification as v2board/Xboard do it, stricter than the SDK's: every
// received field but sign/sign_type is signed, empty ones too, so a
// notification carrying an empty field would fail here.
function epay_verify(array $params, string $pid, string $key): bool {
    $given = (string)($params['sign'] ?? '');
    unset($params['sign'], $params['sign_type']);
    ksort($params);
    $expected = md5(stripslashes(urldecode(http_build_query($params))) . $key);
    return hash_equals($expected, $given)
        && ($params['pid'] ?? '') === $pid
        && ($params['trade_status'] ?? '') === 'TRADE_SUCCESS';
}

function epay_url(string $api, string $page): string {
    return rtrim($api, '/') . '/' . $page;
}

// One request without following redirects: [status, Location, body].
function epay_fetch(string $url, ?array $post = null): array {
    $opts = ['http' => ['follow_location' => 0, 'ignore_errors' => true, 'timeout' => 30]];
    if ($post !== null) {
        $opts['http']['method'] = 'POST';
        $opts['http']['header'] = "Content-Type: application/x-www-form-urlencoded\r\n";
        $opts['http']['content'] = http_build_query($post);
    }
    $body = file_get_contents($url, false, stream_context_create($opts));
    $status = 0;
    $location = '';
    foreach ($http_response_header ?? [] as $h) {
        if (preg_match('#^HTTP/\S+ (\d+)#', $h, $m)) {
            $status = (int)$m[1];
        } elseif (stripos($h, 'Location:') === 0) {
            $location = trim(substr($h, 9));
        }
    }
    return [$status, $location, $body === false ? '' : $body];
}

function epay_pay_params(string $pid, string $key, array $a): array {
    $p = [
        'pid' => $pid, 'out_trade_no' => $a[0], 'money' => $a[1], 'name' => $a[2],
        'notify_url' => $a[3], 'return_url' => $a[4], 'sitename' => 'e2e shop',
    ];
    if (($a[5] ?? '') !== '') {
        $p['type'] = $a[5];
    }
    if (($a[6] ?? '') !== '') {
        $p['param'] = $a[6];
    }
    return $p;
}

// Under the built-in server: the notify receiver.
if (PHP_SAPI === 'cli-server') {
    $ok = epay_verify($_GET, $PID, $KEY);
    file_put_contents(getenv('EPAY_NOTIFY_LOG'),
        json_encode(['verified' => $ok, 'params' => $_GET], JSON_UNESCAPED_UNICODE) . "\n", FILE_APPEND);
    echo ($ok && getenv('EPAY_NOTIFY_MODE') !== 'fail') ? 'success' : 'fail';
    return true;
}

$cmd = $argv[1] ?? '';
$args = array_slice($argv, 2);
switch ($cmd) {
    case 'submit':
        $p = epay_signed(epay_pay_params($PID, $KEY, $args), $KEY);
        [$status, $location, $body] = epay_fetch(epay_url($API, 'submit.php') . '?' . http_build_query($p));
        echo json_encode(['status' => $status, 'location' => $location, 'body' => $body], JSON_UNESCAPED_UNICODE), "\n";
        break;
    case 'mapi':
        $p = epay_pay_params($PID, $KEY, [$args[0], $args[1], $args[2], $args[3], $args[4], $args[5], $args[7] ?? '']);
        $p['device'] = $args[6];
        $p['clientip'] = '203.0.113.9';
        echo epay_fetch(epay_url($API, 'mapi.php'), epay_signed($p, $KEY))[2], "\n";
        break;
    case 'order':
    case 'order-out':
        $field = $cmd === 'order' ? 'trade_no' : 'out_trade_no';
        $q = ['act' => 'order', 'pid' => $PID, 'key' => $KEY, $field => $args[0]];
        echo epay_fetch(epay_url($API, 'api.php') . '?' . http_build_query($q))[2], "\n";
        break;
    case 'query':
        $q = ['act' => 'query', 'pid' => $PID, 'key' => $KEY];
        echo epay_fetch(epay_url($API, 'api.php') . '?' . http_build_query($q))[2], "\n";
        break;
    case 'refund':
        $p = ['act' => 'refund', 'pid' => $PID, 'key' => $KEY, 'trade_no' => $args[0], 'money' => $args[1]];
        if (isset($args[2])) {
            $p['out_refund_no'] = $args[2];
        }
        echo epay_fetch(epay_url($API, 'api.php'), $p)[2], "\n";
        break;
    case 'verify':
        parse_str((string)parse_url($args[0], PHP_URL_QUERY), $params);
        $ok = epay_verify($params, $PID, $KEY);
        echo json_encode(['verified' => $ok, 'params' => $params], JSON_UNESCAPED_UNICODE), "\n";
        exit($ok ? 0 : 1);
    default:
        fwrite(STDERR, "unknown command $cmd\n");
        exit(2);
}
