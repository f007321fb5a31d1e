#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Writes the hand-made seed corpora under t/fuzz/corpus/ (run from anywhere).
Findings kept as regression inputs live beside them, named finding-*."""
import os, struct, zlib

here = os.path.dirname(os.path.abspath(__file__))

def put(target, name, data):
    d = os.path.join(here, 'corpus', target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data.encode() if isinstance(data, str) else data)

MASK = b'\x12\x34\x56\x78'

def frame(op, payload, fin=True, rsv=0, mask=True):
    b0 = (0x80 if fin else 0) | (rsv << 4) | op
    n = len(payload)
    m = 0x80 if mask else 0
    if n < 126:
        head = bytes([b0, m | n])
    elif n < 65536:
        head = bytes([b0, m | 126]) + struct.pack('>H', n)
    else:
        head = bytes([b0, m | 127]) + struct.pack('>Q', n)
    if not mask:
        return head + payload
    return head + MASK + bytes(c ^ MASK[i % 4] for i, c in enumerate(payload))

def deflate(data):
    z = zlib.compressobj(6, zlib.DEFLATED, -15)
    out = z.compress(data) + z.flush(zlib.Z_SYNC_FLUSH)
    return out[:-4]

# frame: byte 0 = config (bit 0 RSV1 allowed, bit 1 masks required, rest
# the size limit), byte 1 = chunking seed, then the client's bytes
CFG = b'\x03\x07'
put('frame', 'text', CFG + frame(1, b'Hello, world'))
put('frame', 'fragments-ping', CFG + frame(1, b'Hel', fin=False) + frame(9, b'p')
    + frame(0, 'lo é'.encode(), fin=True))
put('frame', 'close', CFG + frame(8, struct.pack('>H', 1000) + b'bye'))
put('frame', 'binary-16bit', CFG + frame(2, bytes(range(256)) * 2))
put('frame', 'compressed', CFG + frame(1, deflate(b'{"a":[1,2,3]}' * 20), rsv=4))
put('frame', 'unmasked', CFG + frame(1, b'x', mask=False))
put('frame', 'too-big', b'\x0b\x01' + frame(2, b'y' * 300))
put('frame', 'bad-utf8', CFG + frame(1, b'\xc3\x28'))
put('frame', 'pong-ping-close', CFG + frame(10, b'') + frame(9, b'abc') + frame(8, b''))

for name, s in [('ascii', b'plain text'), ('latin', 'é à ü'.encode()),
                ('euro', '€ 100'.encode()), ('clef', '𝄞 music'.encode()),
                ('overlong', b'\xc0\x80'), ('surrogate', b'\xed\xa0\x80'),
                ('above-max', b'\xf4\x90\x80\x80'), ('truncated', b'ok \xe2\x82'),
                ('mixed', 'aé€𝄞'.encode() * 4 + b'\xff')]:
    put('utf8', name, s)

KEY = 'dGhlIHNhbXBsZSBub25jZQ=='
put('handshake', 'valid', f'GET\nwebsocket\nUpgrade\n{KEY}\n13')
put('handshake', 'lists', f'GET\nfoo, WebSocket\nkeep-alive, Upgrade\n{KEY}\n13')
put('handshake', 'version-8', f'GET\nwebsocket\nupgrade\n{KEY}\n8')
put('handshake', 'bad-key', 'GET\nwebsocket\nupgrade\nshort==\n13')
put('handshake', 'post', f'POST\nwebsocket\nupgrade\n{KEY}\n13')

put('deflate', 'offer-browser', 'permessage-deflate; client_max_window_bits')
put('deflate', 'offer-several', 'permessage-deflate; server_max_window_bits=8, '
    'permessage-deflate; server_no_context_takeover; client_max_window_bits="10"')
put('deflate', 'json', deflate(b'[{"__c":"acp","__p":[null,"39000000123456",4]}]' * 50))
put('deflate', 'zeros', deflate(b'\0' * 100000))
put('deflate', 'stored', b'\x01\x05\x00\xfa\xffhello')

REQ = ('{"service":"opensrf.math","thread":"0.41","log_xid":"1700000000001",'
       '"osrf_msg":[{"__c":"osrfMessage","__p":{"threadTrace":"1","type":"REQUEST",'
       '"locale":"en-US","tz":"America/New_York","api_level":1,"payload":{"__c":"osrfMethod",'
       '"__p":{"method":"add","params":[2,3]}}}}]}')
put('translate', 'request', REQ)
put('translate', 'connect', '{"service":"opensrf.test","thread":"t1","osrf_msg":[{"__c":'
    '"osrfMessage","__p":{"threadTrace":"0","type":"CONNECT"}}]}')
put('translate', 'disconnect', '{"service":"opensrf.test","thread":"t1","osrf_msg":[{"__c":'
    '"osrfMessage","__p":{"threadTrace":"2","type":"DISCONNECT"}}]}')
put('translate', 'auth', REQ.replace('opensrf.math', 'open-ils.auth')
    .replace('"add"', '"open-ils.auth.authenticate.init"'))
put('translate', 'result', '{"to":"x","from":"opensrf:client:opensrf:localhost:w:1:x",'
    '"thread":"0.5","osrf_xid":"99","body":[{"__c":"osrfMessage","__p":{"threadTrace":"1",'
    '"type":"RESULT","payload":{"__c":"osrfResult","__p":{"status":"OK","statusCode":200,'
    '"content":5}}}}]}')
put('translate', 'status-string-body', '{"thread":"0.5","from":"opensrf:client:opensrf:'
    'localhost:w:1:x","body":"[{\\"__c\\":\\"osrfMessage\\",\\"__p\\":{\\"type\\":\\"STATUS\\",'
    '\\"payload\\":{\\"__p\\":{\\"statusCode\\":\\"205\\"}}}}]"}')
put('translate', 'deep', '{"service":"opensrf.math","thread":"d","osrf_msg":' + '[' * 200
    + ']' * 200 + '}')

with open(os.path.join(here, '..', '..', 'conf', 'opensrf_core.xml'), 'rb') as f:
    put('config', 'opensrf_core', f.read())
put('config', 'minimal', '<config><gateway><domain>localhost</domain><port>6379</port>'
    '<username>gateway</username><passwd>x</passwd><router_name>router</router_name>'
    '</gateway></config>')
put('config', 'no-context', '<config><other/></config>')
