// TFPSFS driver for the official Java client: SETFSID, SETFSPERM, REMFSPERM,
// GETFSPERM, ISSECFS through the client's own methods.
// Args: host port pubkey-path hash dir. Prints one "step status code message" line
// per reply; tests/java/secfs_java.rs checks them and the metadata on disk.
import dev.godjango.tfprotocol.Tfprotocol;
import dev.godjango.tfprotocol.callbacks.ITfprotocolCallback;
import dev.godjango.tfprotocol.misc.StatusInfo;
import java.nio.file.Files;
import java.nio.file.Paths;

public class Secfs {
    static String step = "";

    static void say(StatusInfo s) {
        System.out.println(step + " " + s.getStatus() + " " + s.getCode() + " " + s.getMessage());
    }

    public static void main(String[] a) throws Exception {
        String key = new String(Files.readAllBytes(Paths.get(a[2])));
        String dir = a[4];
        ITfprotocolCallback cb = new ITfprotocolCallback() {
            public void responseServerCallback(StatusInfo s) { }
            public void statusServer(StatusInfo s) { }
            public void instanceTfProtocol(Tfprotocol p) { System.out.println("connected"); }
            public void mkdirCallback(StatusInfo s) { say(s); }
            public void touchCallback(StatusInfo s) { say(s); }
            public void setfsidCallback(StatusInfo s) { say(s); }
            public void setfspermCallback(StatusInfo s) { say(s); }
            public void remfspermCallback(StatusInfo s) { say(s); }
            public void getfspermCallback(StatusInfo s) { say(s); }
            public void issecfsCallback(StatusInfo s) { say(s); }
        };
        Tfprotocol p = new Tfprotocol(a[0], Integer.parseInt(a[1]), key, a[3], 64, "2.4.1", cb);
        p.connect();
        step = "mkdir"; p.mkdirCommand(dir);
        step = "touch"; p.touchCommand(dir + "/f");
        step = "issecfs-before"; p.issecfsCommand(dir);
        step = "issecfs-file"; p.issecfsCommand(dir + "/f");
        step = "setfsid-alice"; p.setfsidCommand("alice");
        step = "setfsperm-owner"; p.setfspermCommand("alice", "4095", dir);
        step = "issecfs-after"; p.issecfsCommand(dir);
        step = "setfsperm-bob"; p.setfspermCommand("bob", "4", dir);
        step = "setfsperm-bob-again"; p.setfspermCommand("bob", "12", dir);
        step = "getfsperm-bob"; p.getfspermCommand("bob", dir);
        step = "setfsperm-everybody"; p.setfspermCommand("", "16", dir);
        step = "getfsperm-everybody"; p.getfspermCommand("", dir);
        step = "setfsperm-badmask"; p.setfspermCommand("bob", "x", dir);
        step = "getfsperm-file"; p.getfspermCommand("bob", dir + "/f");
        step = "remfsperm-bob"; p.remfspermCommand("bob", dir);
        step = "getfsperm-bob-gone"; p.getfspermCommand("bob", dir);
        step = "setfsid-bob"; p.setfsidCommand("bob");
        step = "setfsperm-as-bob"; p.setfspermCommand("bob", "4095", dir);
        step = "remfsperm-as-bob"; p.remfspermCommand("alice", dir);
        step = "touch-as-bob"; p.touchCommand(dir + "/g");
        step = "touch-meta"; p.touchCommand(dir + "/.securefs_metadata.rd");
        step = "getfsperm-alice"; p.getfspermCommand("alice", dir);
        p.endCommand();
        System.exit(0);
    }
}
